extension HTTPRequestParser {
    /// Parses `method SP request-target SP HTTP-version` (RFC 9112 §3) into ``method``, ``target`` and
    /// ``version``. Exactly one space separates the parts: the method ends at the first space, the version
    /// starts after the last, and a space left in between makes the target invalid.
    mutating func parseRequestLine(_ line: UnsafeRawBufferPointer) throws(HTTPParseError) {
        guard let firstSpace = line.firstIndex(of: HTTPSyntax.space),
            let secondSpace = line.lastIndex(of: HTTPSyntax.space), secondSpace > firstSpace
        else {
            throw HTTPParseError(
                kind: .invalidRequestLine,
                detail: "request line \(HTTPSyntax.quoted(line)) is not \"method SP request-target SP HTTP-version\""
            )
        }
        version = try HTTPVersion(parsing: line[(secondSpace + 1)...])
        let methodBytes = line[..<firstSpace]
        guard !methodBytes.isEmpty, methodBytes.allSatisfy(HTTPSyntax.isToken) else {
            throw HTTPParseError(
                kind: .invalidMethod,
                detail: "method \(HTTPSyntax.quoted(methodBytes)) is not a token"
            )
        }
        let targetBytes = line[(firstSpace + 1)..<secondSpace]
        guard !targetBytes.isEmpty, targetBytes.allSatisfy(HTTPSyntax.isTargetByte) else {
            throw HTTPParseError(
                kind: .invalidTarget,
                detail: "request-target \(HTTPSyntax.quoted(targetBytes)) is empty or holds a byte that is not "
                    + "visible ASCII, or a fragment"
            )
        }
        method = String(decoding: methodBytes, as: UTF8.self)
        target = String(decoding: targetBytes, as: UTF8.self)
    }
}
