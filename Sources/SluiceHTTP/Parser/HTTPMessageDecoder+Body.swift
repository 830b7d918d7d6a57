extension HTTPMessageDecoder {
    /// The most hex digits of a chunk size: 16 cover every `Int64`, and longer sizes only serve to confuse.
    static let maxChunkSizeDigits = 16

    /// Hands out the body bytes present in `bytes`, up to the end of the body or the current chunk; all of them
    /// for a body that runs until the connection closes.
    mutating func takeBody(_ bytes: UnsafeRawBufferPointer, offset: inout Int) -> [UInt8]? {
        let available = bytes.count - offset
        guard available > 0 else { return nil }
        let count = state == .bodyUntilClose ? available : Int(min(Int64(available), bodyRemaining))
        let piece = [UInt8](UnsafeRawBufferPointer(rebasing: bytes[offset..<(offset + count)]))
        offset += count
        if state != .bodyUntilClose {
            bodyRemaining -= Int64(count)
            if bodyRemaining == 0 {
                state = state == .fixedBody ? .messageEnd : .chunkDataCR
            }
        }
        return piece
    }

    /// Consumes the CR, then the LF, that must follow a chunk's data; false when no byte is available.
    mutating func takeChunkTerminator(
        _ bytes: UnsafeRawBufferPointer,
        offset: inout Int
    ) throws(HTTPParseError) -> Bool {
        guard offset < bytes.count else { return false }
        let expected = state == .chunkDataCR ? HTTPSyntax.cr : HTTPSyntax.lf
        guard bytes[offset] == expected else {
            throw HTTPParseError(
                kind: .invalidChunkTerminator,
                detail: "chunk data is followed by \(HTTPSyntax.quoted(bytes[offset...offset])) instead of CRLF"
            )
        }
        offset += 1
        state = state == .chunkDataCR ? .chunkDataLF : .line(.chunkSize)
        return true
    }

    /// Starts the chunk announced by a chunk-size line (RFC 9112 §7.1), or the trailer section after the last.
    mutating func beginChunk(_ line: UnsafeRawBufferPointer) throws(HTTPParseError) {
        let (size, digits) = try Self.chunkSize(line)
        let extensions = line[digits...]
        guard extensions.count <= limits.maxChunkExtensionLength else {
            throw Self.chunkLineTooLong(line, limits: limits)
        }
        try Self.checkChunkExtensions(extensions)
        guard size <= maxBodyLength - chunkedBodyLength else {
            throw HTTPParseError(
                kind: .bodyTooLarge,
                detail: "chunked body exceeds the limit of \(maxBodyLength) bytes "
                    + "(HTTPParserLimits.maxBodyLength): \(chunkedBodyLength) bytes, then a chunk of \(size)"
            )
        }
        chunkedBodyLength += size
        if size == 0 {
            beginFieldSection(.trailerField)
        } else {
            bodyRemaining = size
            state = .chunkData
        }
    }

    /// The error for a chunk-size line too long to be valid: a bad size if the start already shows one,
    /// otherwise extensions over ``HTTPParserLimits/maxChunkExtensionLength``.
    static func chunkLineTooLong(_ line: UnsafeRawBufferPointer, limits: HTTPParserLimits) -> HTTPParseError {
        do throws(HTTPParseError) {
            _ = try chunkSize(line)
        } catch {
            return error
        }
        return HTTPParseError(
            kind: .invalidChunkExtension,
            detail: "chunk extensions of \(HTTPSyntax.quoted(line)) are longer than "
                + "\(limits.maxChunkExtensionLength) bytes (HTTPParserLimits.maxChunkExtensionLength)"
        )
    }

    /// The hexadecimal size at the start of a chunk-size line and the number of its digits.
    private static func chunkSize(_ line: UnsafeRawBufferPointer) throws(HTTPParseError) -> (Int64, Int) {
        var size: Int64 = 0
        var digits = 0
        while digits < line.count, let value = HTTPSyntax.hexValue(line[digits]) {
            guard digits < maxChunkSizeDigits, size <= Int64.max >> 4 else {
                throw HTTPParseError(
                    kind: .invalidChunkSize,
                    detail: "chunk size \(HTTPSyntax.quoted(line)) is longer than \(maxChunkSizeDigits) hex "
                        + "digits or overflows"
                )
            }
            size = size << 4 | Int64(value)
            digits += 1
        }
        guard digits > 0 else {
            throw HTTPParseError(
                kind: .invalidChunkSize,
                detail: "chunk-size line \(HTTPSyntax.quoted(line)) does not start with a hexadecimal size"
            )
        }
        return (size, digits)
    }

    /// Checks `*( BWS ";" BWS token [ BWS "=" BWS ( token / quoted-string ) ] )`, the extensions that follow a
    /// chunk size. They carry nothing Sluice uses, so they are only validated.
    private static func checkChunkExtensions(_ text: Slice<UnsafeRawBufferPointer>) throws(HTTPParseError) {
        var index = text.startIndex
        let end = text.endIndex
        func skipWhitespace() {
            while index < end && HTTPSyntax.isWhitespace(text[index]) { index += 1 }
        }
        func skipToken() -> Bool {
            let start = index
            while index < end && HTTPSyntax.isToken(text[index]) { index += 1 }
            return index > start
        }
        func skipQuotedString() -> Bool {
            index += 1
            while index < end {
                let byte = text[index]
                index += 1
                if byte == HTTPSyntax.quote {
                    return true
                }
                guard HTTPSyntax.isFieldValueByte(byte) else { return false }
                if byte == HTTPSyntax.backslash {
                    guard index < end, HTTPSyntax.isFieldValueByte(text[index]) else { return false }
                    index += 1
                }
            }
            return false
        }
        while index < end {
            skipWhitespace()
            guard index < end, text[index] == HTTPSyntax.semicolon else {
                throw invalidChunkExtension(text)
            }
            index += 1
            skipWhitespace()
            guard skipToken() else { throw invalidChunkExtension(text) }
            let afterName = index
            skipWhitespace()
            guard index < end, text[index] == HTTPSyntax.equals else {
                index = afterName
                continue
            }
            index += 1
            skipWhitespace()
            let valid = index < end && text[index] == HTTPSyntax.quote ? skipQuotedString() : skipToken()
            guard valid else { throw invalidChunkExtension(text) }
        }
    }

    private static func invalidChunkExtension(_ text: Slice<UnsafeRawBufferPointer>) -> HTTPParseError {
        HTTPParseError(
            kind: .invalidChunkExtension,
            detail: "chunk extensions \(HTTPSyntax.quoted(text)) are not ;name or ;name=value"
        )
    }
}
