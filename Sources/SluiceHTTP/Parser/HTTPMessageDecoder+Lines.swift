extension HTTPMessageDecoder {
    /// Finds the next complete line, or keeps the incomplete rest in ``partialLine`` and returns nil. A line
    /// completed from ``partialLine`` is moved out of it.
    ///
    /// Only as many bytes as the line's limit allows are searched for LF, so an endless line fails as soon as
    /// it is too long to be valid rather than when it ends.
    mutating func takeLine(
        _ bytes: UnsafeRawBufferPointer,
        offset: inout Int,
        kind: LineKind
    ) throws(HTTPParseError) -> Line? {
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
            if searchEnd > start { partialLine.append(contentsOf: bytes[start..<searchEnd]) }
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
        var line: [UInt8] = []
        swap(&line, &partialLine)
        return .assembled(line)
    }

    /// The most bytes a line of `kind` may have, CRLF included.
    private func lineLimit(_ kind: LineKind) -> Int {
        switch kind {
        case .startLine:
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
        case .startLine:
            HTTPParseError(
                kind: isResponse ? .invalidStatusLine : .requestLineTooLong,
                detail: "\(startLineName) \(HTTPSyntax.quoted(start)) is longer than \(limits.maxRequestLineLength) "
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

    /// "request line" or "status line", for error details.
    private var startLineName: String {
        isResponse ? "status line" : "request line"
    }

    /// Counts an empty line before a start line (RFC 9112 §2.2 lets a server skip a few; a stray CRLF after a
    /// body is skipped in responses too).
    mutating func skipEmptyLine() throws(HTTPParseError) {
        emptyLinesBeforeStartLine += 1
        guard emptyLinesBeforeStartLine <= limits.maxEmptyLinesBeforeRequest else {
            throw HTTPParseError(
                kind: .tooManyEmptyLines,
                detail: "more than \(limits.maxEmptyLinesBeforeRequest) empty lines before a \(startLineName)"
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
