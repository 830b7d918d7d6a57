extension HTTPVersion {
    /// Parses the `HTTP-version` of a request or status line: `HTTP/1.0` or `HTTP/1.1`. Another
    /// `HTTP/DIGIT.DIGIT` is unsupported (505 for a request), anything else malformed (400 for a request).
    init(parsing text: Slice<UnsafeRawBufferPointer>) throws(HTTPParseError) {
        let start = text.startIndex
        // Byte by byte: `starts(with: "HTTP/".utf8)` cost more than the rest of the request line.
        guard text.count == 8, text[start] == UInt8(ascii: "H"), text[start + 1] == UInt8(ascii: "T"),
            text[start + 2] == UInt8(ascii: "T"), text[start + 3] == UInt8(ascii: "P"),
            text[start + 4] == UInt8(ascii: "/"), HTTPSyntax.isDigit(text[start + 5]),
            text[start + 6] == UInt8(ascii: "."), HTTPSyntax.isDigit(text[start + 7])
        else {
            throw HTTPParseError(
                kind: .invalidVersion,
                detail: "version \(HTTPSyntax.quoted(text)) is not HTTP/<digit>.<digit>"
            )
        }
        switch (text[start + 5], text[start + 7]) {
        case (UInt8(ascii: "1"), UInt8(ascii: "1")):
            self = .http1_1
        case (UInt8(ascii: "1"), UInt8(ascii: "0")):
            self = .http1_0
        default:
            throw HTTPParseError(
                kind: .unsupportedVersion,
                detail: "version \(HTTPSyntax.quoted(text)) is not HTTP/1.0 or HTTP/1.1"
            )
        }
    }
}
