extension HTTPRequestParser {
    /// Where a complete line (CRLF removed) is: in the caller's buffer, or assembled in ``partialLine``.
    enum LineLocation {
        case buffer(Range<Int>)
        case partialLine
    }

    /// Finds the next complete line, or keeps the incomplete rest in ``partialLine`` and returns nil.
    ///
    /// Only as many bytes as the line's limit allows are searched for LF, so an endless line fails as soon as
    /// it is too long to be valid rather than when it ends.
    mutating func takeLine(
        _ bytes: UnsafeRawBufferPointer,
        offset: inout Int,
        kind: LineKind
    ) throws(HTTPParseError) -> LineLocation? {
        let start = offset
        let pending = partialLine.count
        let limit = lineLimit(kind)
        let reach = max(limit - pending, 0)
        let searchEnd = bytes.count - start > reach ? start + reach : bytes.count
        guard let lineFeed = HTTPSyntax.firstLineFeed(in: bytes, start..<searchEnd) else {
            // The line needs at least its LF, and a CR too unless that is the last byte so far.
            let last = searchEnd > start ? bytes[searchEnd - 1] : partialLine.last
            let shortest = pending + (searchEnd - start) + (last == HTTPSyntax.cr ? 1 : 2)
            if shortest > limit {
                throw lineTooLong(kind, start: partialLine + bytes[start..<searchEnd])
            }
            partialLine.append(contentsOf: bytes[start..<searchEnd])
            offset = searchEnd
            return nil
        }
        offset = lineFeed + 1
        if kind == .headerField || kind == .trailerField {
            sectionBytes += pending + offset - start
        }
        if pending == 0 {
            guard lineFeed > start, bytes[lineFeed - 1] == HTTPSyntax.cr else {
                throw Self.bareLineFeed(after: bytes[start..<lineFeed])
            }
            return .buffer(start..<(lineFeed - 1))
        }
        partialLine.append(contentsOf: bytes[start..<lineFeed])
        guard partialLine.last == HTTPSyntax.cr else {
            throw Self.bareLineFeed(after: partialLine)
        }
        partialLine.removeLast()
        return .partialLine
    }

    /// The most bytes a line of `kind` may have, CRLF included.
    private func lineLimit(_ kind: LineKind) -> Int {
        switch kind {
        case .requestLine:
            Self.adding(2, to: limits.maxRequestLineLength)
        case .headerField, .trailerField:
            limits.maxHeaderBytes - sectionBytes
        case .chunkSize:
            Self.adding(Self.maxChunkSizeDigits + 2, to: limits.maxChunkExtensionLength)
        }
    }

    private static func adding(_ extra: Int, to limit: Int) -> Int {
        let (sum, overflowed) = limit.addingReportingOverflow(extra)
        return overflowed ? .max : sum
    }

    /// The error for a line that cannot end within its limit; `start` is as much of it as arrived.
    private func lineTooLong(_ kind: LineKind, start: [UInt8]) -> HTTPParseError {
        switch kind {
        case .requestLine:
            HTTPParseError(
                kind: .requestLineTooLong,
                detail: "request line \(HTTPSyntax.quoted(start)) is longer than \(limits.maxRequestLineLength) "
                    + "bytes (HTTPParserLimits.maxRequestLineLength)"
            )
        case .headerField, .trailerField:
            HTTPParseError(
                kind: .headersTooLarge,
                detail: "\(kind == .headerField ? "header" : "trailer") section is larger than "
                    + "\(limits.maxHeaderBytes) bytes (HTTPParserLimits.maxHeaderBytes); it stopped fitting at "
                    + "field line \(HTTPSyntax.quoted(start))"
            )
        case .chunkSize:
            start.withUnsafeBytes { Self.chunkLineTooLong($0, limits: limits) }
        }
    }

    private static func bareLineFeed(after line: some Collection<UInt8>) -> HTTPParseError {
        HTTPParseError(
            kind: .invalidLineEnding,
            detail: "line \(HTTPSyntax.quoted(line)) ends in a bare LF; lines must end in CRLF"
        )
    }

    /// Counts an empty line before a request line (RFC 9112 §2.2 lets a server skip a few).
    mutating func skipEmptyLine() throws(HTTPParseError) {
        emptyLinesBeforeRequest += 1
        guard emptyLinesBeforeRequest <= limits.maxEmptyLinesBeforeRequest else {
            throw HTTPParseError(
                kind: .tooManyEmptyLines,
                detail: "more than \(limits.maxEmptyLinesBeforeRequest) empty lines before a request line"
            )
        }
    }

    /// Counts one header or trailer field line against ``HTTPParserLimits/maxHeaderCount``.
    mutating func countFieldLine() throws(HTTPParseError) {
        sectionFieldCount += 1
        guard sectionFieldCount <= limits.maxHeaderCount else {
            throw HTTPParseError(
                kind: .headersTooLarge,
                detail: "more than \(limits.maxHeaderCount) field lines (HTTPParserLimits.maxHeaderCount)"
            )
        }
    }

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
        version = try Self.parseVersion(line[(secondSpace + 1)...])
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

    /// `HTTP/1.0` or `HTTP/1.1`; another `HTTP/DIGIT.DIGIT` is unsupported (505), anything else malformed (400).
    private static func parseVersion(_ text: Slice<UnsafeRawBufferPointer>) throws(HTTPParseError) -> HTTPVersion {
        let start = text.startIndex
        guard text.count == 8, text.starts(with: "HTTP/".utf8), HTTPSyntax.isDigit(text[start + 5]),
            text[start + 6] == UInt8(ascii: "."), HTTPSyntax.isDigit(text[start + 7])
        else {
            throw HTTPParseError(
                kind: .invalidVersion,
                detail: "version \(HTTPSyntax.quoted(text)) is not HTTP/<digit>.<digit>"
            )
        }
        switch (text[start + 5], text[start + 7]) {
        case (UInt8(ascii: "1"), UInt8(ascii: "1")):
            return .http1_1
        case (UInt8(ascii: "1"), UInt8(ascii: "0")):
            return .http1_0
        default:
            throw HTTPParseError(
                kind: .unsupportedVersion,
                detail: "version \(HTTPSyntax.quoted(text)) is not HTTP/1.0 or HTTP/1.1"
            )
        }
    }

    /// Splits `field-name ":" OWS field-value OWS` (RFC 9112 §5) into the name and the trimmed value, checking
    /// both; `line` is not empty.
    static func parseFieldLine(
        _ line: UnsafeRawBufferPointer
    ) throws(HTTPParseError) -> (name: Range<Int>, value: Range<Int>) {
        guard !HTTPSyntax.isWhitespace(line[0]) else {
            throw HTTPParseError(
                kind: .obsoleteLineFolding,
                detail: "field line \(HTTPSyntax.quoted(line)) starts with whitespace (obsolete line folding)"
            )
        }
        var colon = 0
        while colon < line.count && HTTPSyntax.isToken(line[colon]) { colon += 1 }
        guard colon > 0, colon < line.count, line[colon] == HTTPSyntax.colon else {
            guard let colon = line.firstIndex(of: HTTPSyntax.colon) else {
                throw HTTPParseError(
                    kind: .invalidFieldName,
                    detail: "field line \(HTTPSyntax.quoted(line)) has no colon"
                )
            }
            throw HTTPParseError(
                kind: .invalidFieldName,
                detail: "field name \(HTTPSyntax.quoted(line[..<colon])) is not a token"
            )
        }
        var valueStart = colon + 1
        var valueEnd = line.count
        while valueStart < valueEnd && HTTPSyntax.isWhitespace(line[valueStart]) { valueStart += 1 }
        while valueEnd > valueStart && HTTPSyntax.isWhitespace(line[valueEnd - 1]) { valueEnd -= 1 }
        for index in valueStart..<valueEnd where !HTTPSyntax.isFieldValueByte(line[index]) {
            throw HTTPParseError(
                kind: .invalidFieldValue,
                detail: "value of field \(HTTPSyntax.quoted(line[..<colon])) holds control byte "
                    + "\(HTTPSyntax.quoted(line[index...index])) at offset \(index - valueStart)"
            )
        }
        return (0..<colon, valueStart..<valueEnd)
    }
}
