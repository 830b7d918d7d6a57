/// The fields that frame a message and decide whether its connection persists (`Content-Length`,
/// `Transfer-Encoding`, `Connection`; RFC 9112 §6 and §9.3), gathered from a header section. Requests and
/// responses read them alike; what follows from them differs (RFC 9112 §6.3).
struct HTTPFramingFields {
    /// The `Content-Length`, when one was sent; several values (fields or list elements) must agree.
    var contentLength: Int64?
    /// The `Transfer-Encoding` codings in order, when the field was sent.
    var transferCodings: [Substring]?
    /// A `Connection` field lists `close`.
    var listsClose = false
    /// A `Connection` field lists `keep-alive`.
    var listsKeepAlive = false

    /// Takes in `field` when it is one of these fields and returns true; returns false for any other field.
    /// Throws when a `Content-Length` value is not a number or differs from an earlier one.
    @discardableResult
    mutating func collect(_ field: HTTPHeaders.Field) throws(HTTPParseError) -> Bool {
        // Dispatching on the length first keeps the common fields (Accept, User-Agent…) to one comparison.
        let name = field.name
        switch name.utf8.count {
        case 10 where HTTPSyntax.equalsIgnoringCase(name, "connection"):
            HTTPSyntax.forEachListElement(field.value) { option in
                listsClose = listsClose || HTTPSyntax.equalsIgnoringCase(option, "close")
                listsKeepAlive = listsKeepAlive || HTTPSyntax.equalsIgnoringCase(option, "keep-alive")
            }
        case 14 where HTTPSyntax.equalsIgnoringCase(name, "content-length"):
            try mergeContentLength(field.value)
        case 17 where HTTPSyntax.equalsIgnoringCase(name, "transfer-encoding"):
            transferCodings = (transferCodings ?? []) + HTTPSyntax.listElements(field.value)
        default:
            return false
        }
        return true
    }

    /// Whether the connection may carry another message after this one, going by `Connection` alone: HTTP/1.1
    /// unless it lists `close`; HTTP/1.0 only when it lists `keep-alive` and not `close`.
    func keepAlive(version: HTTPVersion) -> Bool {
        version == .http1_1 ? !listsClose : listsKeepAlive && !listsClose
    }

    /// Checks that `codings` (a `Transfer-Encoding` that was sent) apply `chunked` once, last, and alone: the
    /// parsers remove chunked framing and no other coding, and anything else could be read differently by the
    /// next hop.
    static func checkChunkedOnly(_ codings: [Substring]) throws(HTTPParseError) {
        let text = codings.joined(separator: ", ")
        guard let last = codings.last, !codings.contains(where: \.isEmpty) else {
            throw HTTPParseError(
                kind: .invalidTransferEncoding,
                detail: "Transfer-Encoding \(HTTPSyntax.quoted(text)) has an empty coding"
            )
        }
        guard HTTPSyntax.equalsIgnoringCase(last, "chunked") else {
            throw HTTPParseError(
                kind: .invalidTransferEncoding,
                detail: "Transfer-Encoding \(HTTPSyntax.quoted(text)) does not end in chunked, so the body "
                    + "length cannot be determined"
            )
        }
        let earlier = codings.dropLast()
        guard !earlier.contains(where: { HTTPSyntax.equalsIgnoringCase($0, "chunked") }) else {
            throw HTTPParseError(
                kind: .invalidTransferEncoding,
                detail: "Transfer-Encoding \(HTTPSyntax.quoted(text)) applies chunked more than once"
            )
        }
        if let coding = earlier.first {
            throw HTTPParseError(
                kind: .unsupportedTransferCoding,
                detail: "transfer coding \(HTTPSyntax.quoted(coding)) is not supported; send the body chunked only"
            )
        }
    }

    /// Folds one `Content-Length` field (possibly a list, RFC 9110 §8.6) into ``contentLength``. Every value
    /// must be decimal digits, and all of them identical.
    private mutating func mergeContentLength(_ field: String) throws(HTTPParseError) {
        try HTTPSyntax.forEachListElement(field) { (element) throws(HTTPParseError) in
            guard let length = HTTPSyntax.decimal(element) else {
                throw HTTPParseError(
                    kind: .invalidContentLength,
                    detail: "Content-Length \(HTTPSyntax.quoted(field)) is not a decimal number of bytes"
                )
            }
            if let contentLength, contentLength != length {
                throw HTTPParseError(
                    kind: .invalidContentLength,
                    detail: "Content-Length values \(contentLength) and \(length) differ"
                )
            }
            contentLength = length
        }
    }
}
