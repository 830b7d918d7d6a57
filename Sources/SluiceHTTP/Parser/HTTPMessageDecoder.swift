/// The half of HTTP/1.1 parsing that requests and responses share (RFC 9112 §2, §5–§7): lines and their limits,
/// header and trailer field sections, and the body framings, as one incremental state machine.
///
/// The owner (``HTTPRequestParser`` or ``HTTPResponseParser``) does the rest: it parses the start line it is
/// handed, works out what the head means, and answers every ``Event/headerSection(_:)`` with ``afterHead(_:)``,
/// saying what follows the head. Body pieces, trailer validation and `.end` then come from here.
///
/// Consumption follows the owners' contract: a nil answer has consumed every byte it was given, keeping an
/// incomplete line in ``partialLine`` (bounded by the line's limit).
struct HTTPMessageDecoder: Sendable {
    /// What the decoder hands its owner.
    enum Event {
        /// A start line, never empty; the header section follows.
        case startLine(Line)
        /// The header section is complete. The owner must call ``afterHead(_:)`` before asking for more.
        case headerSection(HTTPHeaders)
        /// Body bytes, never empty, framing removed; at most the bytes of the buffer passed to that call.
        case body([UInt8])
        /// The message is complete; the next start line may follow.
        case end
    }

    /// A complete line, CRLF removed: in the caller's buffer, or assembled from several buffers.
    enum Line {
        case buffer(Range<Int>)
        case assembled([UInt8])

        var isEmpty: Bool {
            switch self {
            case .buffer(let range): range.isEmpty
            case .assembled(let line): line.isEmpty
            }
        }

        /// Calls `body` with the line's bytes; `bytes` is the buffer a `.buffer` line was found in.
        func withBytes<Value>(
            in bytes: UnsafeRawBufferPointer,
            _ body: (UnsafeRawBufferPointer) throws(HTTPParseError) -> Value
        ) throws(HTTPParseError) -> Value {
            switch self {
            case .buffer(let range):
                return try body(UnsafeRawBufferPointer(rebasing: bytes[range]))
            case .assembled(let line):
                return try HTTPSyntax.withBytes(of: line, body)
            }
        }
    }

    /// What follows a head, as its owner decided from the start line and the header section.
    enum AfterHead: Equatable {
        /// No body: `.end` comes next.
        case end
        /// A body of exactly this many bytes (`Content-Length`).
        case fixedLength(Int64)
        /// A chunked body, then trailer fields.
        case chunked
        /// A body that ends when the connection does; only ``peerClosed()`` ends it.
        case untilClose
        /// Another head, with no `.end` between: the head was an interim (1xx) response.
        case anotherHead
    }

    /// Where the decoder is within the current message.
    enum State: Equatable {
        /// Waiting for a complete line of this kind.
        case line(LineKind)
        /// The header section was handed out; the owner has not called ``afterHead(_:)`` yet.
        case awaitingFraming
        /// Inside a `Content-Length` body; ``bodyRemaining`` bytes to go.
        case fixedBody
        /// Inside a chunk's data; ``bodyRemaining`` bytes to go.
        case chunkData
        /// After a chunk's data, expecting its CR.
        case chunkDataCR
        /// After a chunk's data and CR, expecting LF.
        case chunkDataLF
        /// Inside a body that only the end of the connection ends.
        case bodyUntilClose
        /// Everything of the message is consumed; `.end` is due.
        case messageEnd
    }

    /// The lines of a message, each with its own limit and error.
    enum LineKind: Equatable {
        case startLine
        case headerField
        case chunkSize
        case trailerField
    }

    let limits: HTTPParserLimits
    /// True when decoding responses: names the start line "status line" in errors and lifts the body limit.
    let isResponse: Bool
    /// ``HTTPParserLimits/maxBodyLength`` for requests; responses are not limited.
    let maxBodyLength: Int64

    var state = State.line(.startLine)
    /// The start of a line whose end has not arrived yet, kept so the caller can drop consumed bytes.
    var partialLine: [UInt8] = []
    var emptyLinesBeforeStartLine = 0
    var headers = HTTPHeaders()
    /// Fields a head usually has at most: room for them is made at the first.
    static let expectedFieldCount = 16
    /// Bytes and field lines of the header (or trailer) section so far.
    var sectionBytes = 0
    var sectionFieldCount = 0
    /// Bytes left in the `Content-Length` body or in the current chunk.
    var bodyRemaining: Int64 = 0
    /// The sum of the chunk sizes of the current chunked body.
    var chunkedBodyLength: Int64 = 0

    init(limits: HTTPParserLimits, isResponse: Bool) {
        self.limits = limits
        self.isResponse = isResponse
        self.maxBodyLength = isResponse ? .max : limits.maxBodyLength
    }

    /// True when no byte of a message has been consumed since the last `.end` (or since creation), apart from
    /// empty lines before a start line.
    @inline(__always)
    var isBetweenMessages: Bool {
        state == .line(.startLine) && partialLine.isEmpty
    }

    /// Decodes from `bytes[offset...]` until there is an event for the owner or every byte is consumed (nil).
    mutating func next(_ bytes: UnsafeRawBufferPointer, offset: inout Int) throws(HTTPParseError) -> Event? {
        while true {
            switch state {
            case .line(let kind):
                guard let line = try takeLine(bytes, offset: &offset, kind: kind) else { return nil }
                if let event = try handleLine(line, in: bytes, kind: kind) {
                    return event
                }
            case .awaitingFraming:
                preconditionFailure("afterHead(_:) must answer every .headerSection")
            case .fixedBody, .chunkData, .bodyUntilClose:
                return takeBody(bytes, offset: &offset).map(Event.body)
            case .chunkDataCR, .chunkDataLF:
                guard try takeChunkTerminator(bytes, offset: &offset) else { return nil }
            case .messageEnd:
                expectStartLine()
                return .end
            }
        }
    }

    /// Sets up what follows the head just handed out. Throws when a `Content-Length` body is over the limit.
    mutating func afterHead(_ next: AfterHead) throws(HTTPParseError) {
        precondition(state == .awaitingFraming, "afterHead(_:) called without a header section to answer")
        switch next {
        case .end:
            state = .messageEnd
        case .fixedLength(let length):
            guard length <= maxBodyLength else {
                throw HTTPParseError(
                    kind: .bodyTooLarge,
                    detail: "Content-Length \(length) exceeds the limit of \(maxBodyLength) bytes "
                        + "(HTTPParserLimits.maxBodyLength)"
                )
            }
            bodyRemaining = length
            state = length == 0 ? .messageEnd : .fixedBody
        case .chunked:
            chunkedBodyLength = 0
            state = .line(.chunkSize)
        case .untilClose:
            state = .bodyUntilClose
        case .anotherHead:
            expectStartLine()
        }
    }

    /// The connection ended. True when that completes the message: its body was delimited by the close, or only
    /// its `.end` was still due. Afterwards the decoder is between messages.
    mutating func peerClosed() -> Bool {
        guard state == .bodyUntilClose || state == .messageEnd else { return false }
        expectStartLine()
        return true
    }

    /// Handles one complete line (CRLF removed) of the given kind.
    private mutating func handleLine(
        _ line: Line,
        in bytes: UnsafeRawBufferPointer,
        kind: LineKind
    ) throws(HTTPParseError) -> Event? {
        switch kind {
        case .startLine:
            if line.isEmpty {
                try skipEmptyLine()
                return nil
            }
            beginFieldSection(.headerField)
            return .startLine(line)
        case .headerField:
            if line.isEmpty {
                var section = HTTPHeaders()
                swap(&section, &headers)
                state = .awaitingFraming
                return .headerSection(section)
            }
            try line.withBytes(in: bytes) { fieldLine throws(HTTPParseError) in
                let field = try Self.parseFieldLine(fieldLine)
                try countFieldLine()
                // Room for a browser's usual fields at once; the array grew 1, 2, 4, 8… field by field.
                if headers.isEmpty { headers.reserveCapacity(Self.expectedFieldCount) }
                headers.append(
                    name: String(decoding: UnsafeRawBufferPointer(rebasing: fieldLine[field.name]), as: UTF8.self),
                    value: HTTPSyntax.fieldValue(UnsafeRawBufferPointer(rebasing: fieldLine[field.value]))
                )
            }
        case .chunkSize:
            try line.withBytes(in: bytes) { sizeLine throws(HTTPParseError) in try beginChunk(sizeLine) }
        case .trailerField:
            if line.isEmpty {
                state = .messageEnd
            } else {
                // Trailer fields are checked like header fields, then dropped: nothing downstream uses them.
                _ = try line.withBytes(in: bytes, Self.parseFieldLine)
                try countFieldLine()
            }
        }
        return nil
    }

    /// Starts a header or trailer section, each with its own budget.
    mutating func beginFieldSection(_ kind: LineKind) {
        sectionBytes = 0
        sectionFieldCount = 0
        state = .line(kind)
    }

    private mutating func expectStartLine() {
        state = .line(.startLine)
        emptyLinesBeforeStartLine = 0
    }
}
