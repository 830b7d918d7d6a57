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
    /// The limits this parser enforces.
    public let limits: HTTPParserLimits

    /// Lines, fields and bodies; this type adds the request line and what the head means.
    var decoder: HTTPMessageDecoder
    var method = ""
    var target = ""
    var version = HTTPVersion.http1_1
    var failure: HTTPParseError?

    /// Creates a parser waiting for the first request.
    ///
    /// ```swift
    /// var parser = HTTPRequestParser(limits: HTTPParserLimits(maxBodyLength: 1 << 20))
    /// ```
    public init(limits: HTTPParserLimits = HTTPParserLimits()) {
        self.limits = limits
        self.decoder = HTTPMessageDecoder(limits: limits, isResponse: false)
    }

    /// True when no byte of a request has been consumed since the last `.end` (or since creation), apart from
    /// empty lines before a request line; false after an error. A connection that ends while this is false ended
    /// in the middle of a request; a connection that stays in that state too long is a slow client.
    @inline(__always)  // else a connection asking it after every request copies the whole parser
    public var isBetweenRequests: Bool {
        failure == nil && decoder.isBetweenMessages
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

    /// Runs the decoder until it produces a part or runs out of bytes.
    private mutating func parse(
        _ bytes: UnsafeRawBufferPointer,
        offset: inout Int
    ) throws(HTTPParseError) -> HTTPRequestPart? {
        while let event = try decoder.next(bytes, offset: &offset) {
            switch event {
            case .startLine(let line):
                try line.withBytes(in: bytes) { requestLine throws(HTTPParseError) in
                    try parseRequestLine(requestLine)
                }
            case .headerSection(let headers):
                let head = try HTTPRequestHead(method: method, target: target, version: version, headers: headers)
                switch head.bodyFraming {
                case .none: try decoder.afterHead(.end)
                case .contentLength(let length): try decoder.afterHead(.fixedLength(length))
                case .chunked: try decoder.afterHead(.chunked)
                }
                return .head(head)
            case .body(let piece):
                return .body(piece)
            case .end:
                return .end
            }
        }
        return nil
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
        try HTTPSyntax.withBytes(of: bytes) { buffer throws(HTTPParseError) in try next(buffer, offset: &offset) }
    }
}
