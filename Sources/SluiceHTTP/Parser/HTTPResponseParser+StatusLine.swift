extension HTTPResponseParser {
    /// Parses `HTTP-version SP status-code SP [reason-phrase]` (RFC 9112 §4) into ``version``, ``status`` and
    /// ``reason``. The space before an empty reason phrase may be missing, as some servers omit it.
    mutating func parseStatusLine(_ line: UnsafeRawBufferPointer) throws(HTTPParseError) {
        guard let versionEnd = line.firstIndex(of: HTTPSyntax.space) else {
            throw HTTPParseError(
                kind: .invalidStatusLine,
                detail: "status line \(HTTPSyntax.quoted(line)) is not \"HTTP-version SP status-code SP "
                    + "reason-phrase\""
            )
        }
        let version = try HTTPVersion(parsing: line[..<versionEnd])
        let codeEnd = line[(versionEnd + 1)...].firstIndex(of: HTTPSyntax.space) ?? line.count
        let code = line[(versionEnd + 1)..<codeEnd]
        let digits = code.count == 3 && code.allSatisfy(HTTPSyntax.isDigit)
        let status = digits ? code.reduce(0) { $0 * 10 + Int($1 - UInt8(ascii: "0")) } : 0
        guard status >= 100 && status <= 599 else {
            throw HTTPParseError(
                kind: .invalidStatusCode,
                detail: "status code \(HTTPSyntax.quoted(code)) is not three digits from 100 to 599"
            )
        }
        let reasonBytes = line[min(codeEnd + 1, line.count)...]
        if let control = reasonBytes.firstIndex(where: { !HTTPSyntax.isFieldValueByte($0) }) {
            throw HTTPParseError(
                kind: .invalidStatusLine,
                detail: "reason phrase \(HTTPSyntax.quoted(reasonBytes)) holds control byte "
                    + "\(HTTPSyntax.quoted(line[control...control]))"
            )
        }
        self.version = version
        self.status = status
        self.reason = HTTPSyntax.fieldValue(UnsafeRawBufferPointer(rebasing: reasonBytes)).text
    }
}
