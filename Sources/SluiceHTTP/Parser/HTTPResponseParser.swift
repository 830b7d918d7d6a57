/// An incremental HTTP/1.1 response parser: the bytes an upstream sent in, response parts out.
///
/// It keeps ``HTTPRequestParser``'s contract. It is pure (no I/O); a call that returns nil has consumed every
/// byte it was given, keeping an incomplete line inside (bounded by the limits); each `.body` holds at most the
/// body bytes present in that call's buffer; after `.end` the next response may follow in the same buffer; field
/// lines are held to the same rules and header limits (CRLF only, no obs-fold, no control bytes); and an error is
/// final. What differs:
///
/// - **The request decides.** Pass the method of the request each response answers: a response to `HEAD` has
///   no body whatever its header says, and neither has a 2xx answer to `CONNECT`, a 1xx, 204 or 304.
/// - **Interim responses.** A 1xx head (`100 Continue`, `103 Early Hints`) comes out with framing
///   ``HTTPResponseBodyFraming/none`` and no `.end`: the final head for the same request follows it, so keep
///   passing the same method. `101 Switching Protocols` is final and followed by `.end`; the bytes after it
///   belong to the new protocol, so stop feeding the parser.
/// - **The end of the connection is part of the framing.** A body with neither `Content-Length` nor chunked
///   framing runs until the upstream closes; report that with ``peerClosed()``, which ends such a body and
///   fails any other response cut short.
/// - **No body limit.** ``HTTPParserLimits/maxBodyLength`` bounds requests only: a proxy streams response
///   bodies through without holding them. Chunk sizes are still checked (hexadecimal, at most 16 digits).
///   The status line is bounded by ``HTTPParserLimits/maxRequestLineLength``, and up to
///   ``HTTPParserLimits/maxEmptyLinesBeforeRequest`` empty lines before it are skipped.
/// - **Errors are the upstream's fault.** They carry ``HTTPParseError/inResponse``, so their status is 502:
///   close the upstream connection, and answer the client 502 if nothing was forwarded yet.
///
/// ```swift
/// var parser = HTTPResponseParser()
/// var offset = 0
/// while let part = try buffer.withUnsafeBytes({ try parser.next($0, offset: &offset, requestMethod: "GET") }) {
///     switch part {
///     case .head(let head) where head.isInterim: continue
///     case .head(let head): print(head.status, head.bodyFraming)
///     case .body(let bytes): client.write(bytes)
///     case .end: print("response complete")
///     }
/// }
/// buffer.removeFirst(offset)
/// ```
public struct HTTPResponseParser: Sendable {
    /// The limits this parser enforces.
    public let limits: HTTPParserLimits

    /// Lines, fields and bodies; this type adds the status line and what the head means.
    var decoder: HTTPMessageDecoder
    var version = HTTPVersion.http1_1
    var status = 0
    var reason = ""
    /// True after an interim (1xx) head, until the final head of the same response.
    var awaitingFinalResponse = false
    var failure: HTTPParseError?

    /// Creates a parser waiting for the first response.
    ///
    /// ```swift
    /// var parser = HTTPResponseParser(limits: HTTPParserLimits(maxHeaderBytes: 64 * 1024))
    /// ```
    public init(limits: HTTPParserLimits = HTTPParserLimits()) {
        self.limits = limits
        self.decoder = HTTPMessageDecoder(limits: limits, isResponse: true)
    }

    /// True when no byte of a response has been consumed since the last `.end` (or since creation), apart from
    /// empty lines before a status line; false after an interim head (the final one is due) and after an error.
    /// An upstream that closes while this is true closed cleanly between responses.
    public var isBetweenResponses: Bool {
        failure == nil && !awaitingFinalResponse && decoder.isBetweenMessages
    }

    /// Parses the next part of the response stream from `bytes[offset...]`.
    ///
    /// `requestMethod` is the method of the request this response answers: responses to `HEAD` have no body.
    /// Returns the next part and advances `offset` past the bytes it used (a `.body` piece consumes exactly its
    /// bytes), or returns nil once all of `bytes[offset...]` is consumed and more are needed. `.end` can come
    /// from a call that receives no new bytes: keep calling until nil. Pass the bytes that follow `offset` on
    /// the next call; the consumed ones may be dropped.
    ///
    /// ```swift
    /// var offset = 0
    /// while let part = try parser.next(received, offset: &offset, requestMethod: request.method) { relay(part) }
    /// ```
    public mutating func next(
        _ bytes: UnsafeRawBufferPointer,
        offset: inout Int,
        requestMethod: String
    ) throws(HTTPParseError) -> HTTPResponsePart? {
        precondition(offset >= 0 && offset <= bytes.count, "offset \(offset) outside buffer of \(bytes.count) bytes")
        if let failure {
            throw failure
        }
        do throws(HTTPParseError) {
            return try parse(bytes, offset: &offset, requestMethod: requestMethod)
        } catch {
            throw fail(error)
        }
    }

    /// The upstream closed the connection (a read returned 0 bytes).
    ///
    /// Returns `.end` when that completes the response: a body framed as
    /// ``HTTPResponseBodyFraming/untilClose`` ends here. Returns nil when the close came between responses.
    /// Anywhere else the response was cut short, and this throws ``HTTPParseError/Kind/incompleteResponse``.
    ///
    /// ```swift
    /// if bytesRead == 0, let part = try parser.peerClosed() { relay(part) }
    /// ```
    public mutating func peerClosed() throws(HTTPParseError) -> HTTPResponsePart? {
        if let failure {
            throw failure
        }
        if isBetweenResponses {
            return nil
        }
        if decoder.peerClosed() {
            return .end
        }
        throw fail(
            HTTPParseError(kind: .incompleteResponse, detail: "the upstream closed the connection \(whereCut)")
        )
    }

    /// Runs the decoder until it produces a part or runs out of bytes.
    private mutating func parse(
        _ bytes: UnsafeRawBufferPointer,
        offset: inout Int,
        requestMethod: String
    ) throws(HTTPParseError) -> HTTPResponsePart? {
        while let event = try decoder.next(bytes, offset: &offset) {
            switch event {
            case .startLine(let line):
                try line.withBytes(in: bytes) { statusLine throws(HTTPParseError) in
                    try parseStatusLine(statusLine)
                }
            case .headerSection(let headers):
                let head = try HTTPResponseHead(
                    status: status,
                    reason: reason,
                    version: version,
                    headers: headers,
                    requestMethod: requestMethod
                )
                awaitingFinalResponse = head.isInterim
                switch head.bodyFraming {
                case .none: try decoder.afterHead(head.isInterim ? .anotherHead : .end)
                case .contentLength(let length): try decoder.afterHead(.fixedLength(length))
                case .chunked: try decoder.afterHead(.chunked)
                case .untilClose: try decoder.afterHead(.untilClose)
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

    /// Marks `error` as the upstream's and makes it final.
    private mutating func fail(_ error: HTTPParseError) -> HTTPParseError {
        var error = error
        error.inResponse = true
        failure = error
        return error
    }

    /// Where in the response the connection ended, for ``peerClosed()``'s error.
    private var whereCut: String {
        switch decoder.state {
        case .line(.startLine) where awaitingFinalResponse:
            "after interim response \(status), before the final response"
        case .line(.startLine):
            "in the status line"
        case .line(.headerField):
            "in the header section"
        case .fixedBody:
            "with \(decoder.bodyRemaining) bytes of the Content-Length body still to come"
        case .line(.chunkSize), .chunkData, .chunkDataCR, .chunkDataLF:
            "in the chunked body, before its last chunk"
        case .line(.trailerField):
            "in the trailer section"
        case .awaitingFraming, .bodyUntilClose, .messageEnd:
            "in the middle of a response"
        }
    }
}

extension HTTPResponseParser {
    /// Convenience for tests and small inputs: ``next(_:offset:requestMethod:)`` over an array.
    ///
    /// ```swift
    /// var parser = HTTPResponseParser()
    /// var offset = 0
    /// let part = try parser.next(Array("HTTP/1.1 204 No Content\r\n\r\n".utf8), offset: &offset, requestMethod: "GET")
    /// ```
    public mutating func next(
        _ bytes: [UInt8],
        offset: inout Int,
        requestMethod: String
    ) throws(HTTPParseError) -> HTTPResponsePart? {
        try HTTPSyntax.withBytes(of: bytes) { buffer throws(HTTPParseError) in
            try next(buffer, offset: &offset, requestMethod: requestMethod)
        }
    }
}
