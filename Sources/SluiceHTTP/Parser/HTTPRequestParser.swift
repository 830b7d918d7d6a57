/// An incremental HTTP/1.1 request parser: bytes in, request parts out.
///
/// The parser is pure: it reads the bytes a connection received and returns the next ``HTTPRequestPart``, or
/// nil when it needs more bytes. It never performs I/O and never writes anything (not even `100 Continue`).
///
/// - **Consumption.** Every call advances `offset` past what it used. A call that returns nil has consumed
///   everything it was given: an incomplete line is kept inside the parser (bounded by the limits), so the
///   caller may discard `bytes[..<offset]` after every call and never needs room for a whole head.
/// - **Streaming.** Bodies are never buffered: each `.body` holds at most the body bytes present in that call's
///   buffer, so a 1 GiB upload passes through in pieces the size of the reads.
/// - **Pipelining and keep-alive.** After `.end` the parser is ready for the next request, which may already
///   be in the same buffer.
/// - **Strictness.** Lines must end in CRLF: a bare LF (which RFC 9112 §2.2 lets a recipient accept) is refused
///   with 400, as are obs-fold, whitespace before a field's colon, and every framing shape that two parsers
///   could read differently (request smuggling). See ``HTTPParseError/Kind`` for the full list.
/// - **Errors are final.** After a throw, every later call throws the same error; answer with
///   ``HTTPParseError/status`` and close the connection.
///
/// ```swift
/// var parser = HTTPRequestParser()
/// var offset = 0
/// while let part = try buffer.withUnsafeBytes({ try parser.next($0, offset: &offset) }) {
///     switch part {
///     case .head(let head): print(head.method, head.path)
///     case .body(let bytes): upload.write(bytes)
///     case .end: print("request complete")
///     }
/// }
/// buffer.removeFirst(offset)
/// ```
public struct HTTPRequestParser: Sendable {
    /// Where the parser is within the current request.
    enum State: Equatable {
        /// Waiting for a complete line of this kind.
        case line(LineKind)
        /// Inside a `Content-Length` body; ``bodyRemaining`` bytes to go.
        case fixedBody
        /// Inside a chunk's data; ``bodyRemaining`` bytes to go.
        case chunkData
        /// After a chunk's data, expecting its CR.
        case chunkDataCR
        /// After a chunk's data and CR, expecting LF.
        case chunkDataLF
        /// Everything of the request is consumed; `.end` is due.
        case messageEnd
    }

    /// The lines of a request, each with its own limit and error.
    enum LineKind: Equatable {
        case requestLine
        case headerField
        case chunkSize
        case trailerField
    }

    /// The limits this parser enforces.
    public let limits: HTTPParserLimits

    var state = State.line(.requestLine)
    /// The start of a line whose end has not arrived yet, kept so the caller can drop consumed bytes.
    var partialLine: [UInt8] = []
    var emptyLinesBeforeRequest = 0
    var method = ""
    var target = ""
    var version = HTTPVersion.http1_1
    var headers = HTTPHeaders()
    /// Bytes and field lines of the header (or trailer) section so far.
    var sectionBytes = 0
    var sectionFieldCount = 0
    /// Bytes left in the `Content-Length` body or in the current chunk.
    var bodyRemaining: Int64 = 0
    /// The sum of the chunk sizes of the current chunked body.
    var chunkedBodyLength: Int64 = 0
    var failure: HTTPParseError?

    /// Creates a parser waiting for the first request.
    ///
    /// ```swift
    /// var parser = HTTPRequestParser(limits: HTTPParserLimits(maxBodyLength: 1 << 20))
    /// ```
    public init(limits: HTTPParserLimits = HTTPParserLimits()) {
        self.limits = limits
    }

    /// True when no byte of a request has been consumed since the last `.end` (or since creation), apart from
    /// empty lines before a request line; false after an error. A connection that ends while this is false ended
    /// in the middle of a request; a connection that stays in that state too long is a slow client.
    public var isBetweenRequests: Bool {
        failure == nil && state == .line(.requestLine) && partialLine.isEmpty
    }

    /// Parses the next part of the request stream from `bytes[offset...]`.
    ///
    /// Returns the next part and advances `offset` past the bytes it used (a `.body` piece consumes exactly its
    /// bytes), or returns nil once all of `bytes[offset...]` is consumed and more are needed. `.end` can come
    /// from a call that receives no new bytes: keep calling until nil. Pass the bytes that follow `offset` on
    /// the next call; the consumed ones may be dropped.
    ///
    /// Malformed input and exceeded limits are reported as soon as they are seen, before the rest of the line or
    /// request has arrived.
    ///
    /// ```swift
    /// var offset = 0
    /// while let part = try parser.next(received, offset: &offset) { handle(part) }
    /// ```
    public mutating func next(
        _ bytes: UnsafeRawBufferPointer,
        offset: inout Int
    ) throws(HTTPParseError) -> HTTPRequestPart? {
        precondition(offset >= 0 && offset <= bytes.count, "offset \(offset) outside buffer of \(bytes.count) bytes")
        if let failure {
            throw failure
        }
        do throws(HTTPParseError) {
            return try parse(bytes, offset: &offset)
        } catch {
            failure = error
            throw error
        }
    }

    /// Runs the state machine until it produces a part or runs out of bytes.
    private mutating func parse(
        _ bytes: UnsafeRawBufferPointer,
        offset: inout Int
    ) throws(HTTPParseError) -> HTTPRequestPart? {
        while true {
            switch state {
            case .line(let kind):
                guard let location = try takeLine(bytes, offset: &offset, kind: kind) else { return nil }
                let part: HTTPRequestPart?
                switch location {
                case .buffer(let range):
                    part = try handleLine(UnsafeRawBufferPointer(rebasing: bytes[range]), kind: kind)
                case .partialLine:
                    part = try handleAssembledLine(kind: kind)
                }
                if let part {
                    return part
                }
            case .fixedBody, .chunkData:
                return takeBody(bytes, offset: &offset)
            case .chunkDataCR, .chunkDataLF:
                guard try takeChunkTerminator(bytes, offset: &offset) else { return nil }
            case .messageEnd:
                state = .line(.requestLine)
                emptyLinesBeforeRequest = 0
                return .end
            }
        }
    }

    /// Handles one complete line (CRLF removed) of the given kind.
    private mutating func handleLine(
        _ line: UnsafeRawBufferPointer,
        kind: LineKind
    ) throws(HTTPParseError) -> HTTPRequestPart? {
        switch kind {
        case .requestLine:
            if line.isEmpty {
                try skipEmptyLine()
            } else {
                try parseRequestLine(line)
                state = .line(.headerField)
            }
        case .headerField:
            if line.isEmpty {
                return .head(try finishHead())
            }
            let field = try Self.parseFieldLine(line)
            try countFieldLine()
            headers.append(
                name: String(decoding: UnsafeRawBufferPointer(rebasing: line[field.name]), as: UTF8.self),
                value: HTTPSyntax.fieldString(UnsafeRawBufferPointer(rebasing: line[field.value]))
            )
        case .chunkSize:
            try beginChunk(line)
        case .trailerField:
            if line.isEmpty {
                state = .messageEnd
            } else {
                // Trailer fields are checked like header fields, then dropped: nothing downstream uses them.
                _ = try Self.parseFieldLine(line)
                try countFieldLine()
            }
        }
        return nil
    }

    /// Handles the line assembled in ``partialLine`` from several buffers, then empties it.
    private mutating func handleAssembledLine(kind: LineKind) throws(HTTPParseError) -> HTTPRequestPart? {
        var line: [UInt8] = []
        swap(&line, &partialLine)
        let result: Result<HTTPRequestPart?, HTTPParseError> = line.withUnsafeBytes { buffer in
            do throws(HTTPParseError) {
                return .success(try handleLine(buffer, kind: kind))
            } catch {
                return .failure(error)
            }
        }
        return try result.get()
    }

    /// Validates the field section and decides what follows the head.
    private mutating func finishHead() throws(HTTPParseError) -> HTTPRequestHead {
        let head = try HTTPRequestHead(method: method, target: target, version: version, headers: headers)
        headers = HTTPHeaders()
        sectionBytes = 0
        sectionFieldCount = 0
        switch head.bodyFraming {
        case .none:
            state = .messageEnd
        case .contentLength(let length):
            guard length <= limits.maxBodyLength else {
                throw HTTPParseError(
                    kind: .bodyTooLarge,
                    detail: "Content-Length \(length) exceeds the limit of \(limits.maxBodyLength) bytes "
                        + "(HTTPParserLimits.maxBodyLength)"
                )
            }
            bodyRemaining = length
            state = length == 0 ? .messageEnd : .fixedBody
        case .chunked:
            chunkedBodyLength = 0
            state = .line(.chunkSize)
        }
        return head
    }
}

extension HTTPRequestParser {
    /// Convenience for tests and small inputs: ``next(_:offset:)`` over an array.
    ///
    /// ```swift
    /// var parser = HTTPRequestParser()
    /// var offset = 0
    /// let part = try parser.next(Array("GET / HTTP/1.1\r\nHost: a\r\n\r\n".utf8), offset: &offset)
    /// ```
    public mutating func next(_ bytes: [UInt8], offset: inout Int) throws(HTTPParseError) -> HTTPRequestPart? {
        let result: Result<HTTPRequestPart?, HTTPParseError> = bytes.withUnsafeBytes { buffer in
            do throws(HTTPParseError) {
                return .success(try next(buffer, offset: &offset))
            } catch {
                return .failure(error)
            }
        }
        return try result.get()
    }
}
