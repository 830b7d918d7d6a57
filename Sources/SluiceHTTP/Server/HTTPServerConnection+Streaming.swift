/// A piece of a request body on its way to a handler's consumer.
public enum HTTPBodyEvent: Sendable, Equatable {
    /// Body bytes, as they arrived.
    case chunk([UInt8])
    /// The body is complete.
    case end
}

/// How a streamed answer's body is delimited.
public enum HTTPResponseFraming: Sendable, Equatable {
    /// Exactly this many bytes follow.
    case contentLength(Int64)
    /// The length is not known: chunked for HTTP/1.1 clients, ended by closing the connection for HTTP/1.0.
    case streamed
    /// No body follows (a 204, a 304, an answer to HEAD); `advertisedLength` is the `Content-Length`
    /// to state, when there is one (the size a GET would have had).
    case noBody(advertisedLength: Int64?)
}

extension HTTPServerConnection {
    /// Bytes of request body kept while the handler has not decided what to do with them;
    /// beyond this, reading pauses.
    static let bodyBufferLimit = 64 * 1024
    /// Output beyond this asks a streaming producer to wait for ``whenClientDrained``.
    static let outputHighWater = 256 * 1024

    /// Reading stops while the consumer asked for a pause, or while an undecided body fills its buffer.
    var bodyBlocked: Bool {
        bodyPaused || (bodyConsumer == nil && !answerStarted && bufferedBodyBytes >= Self.bodyBufferLimit)
    }

    func deliverBody(_ event: HTTPBodyEvent) {
        if let bodyConsumer {
            bodyConsumer(event)
        } else if !answerStarted {
            bufferedBody.append(event)
            if case .chunk(let bytes) = event { bufferedBodyBytes += bytes.count }
        }
    }

    // MARK: - Request body, for the responder

    func consumeBody(of number: UInt64, with consumer: @escaping (HTTPBodyEvent) -> Void) {
        guard number == requestNumber, phase == .handling, bodyConsumer == nil else { return }
        bodyConsumer = consumer
        let buffered = bufferedBody
        bufferedBody = []
        bufferedBodyBytes = 0
        for event in buffered { consumer(event) }
        resumeReading()
    }

    /// Once an answer has started without a consumer, the body is read only to be dropped.
    func dropUndecidedBody() {
        guard bodyConsumer == nil, !bufferedBody.isEmpty else { return }
        bufferedBody.removeAll(keepingCapacity: true)
        bufferedBodyBytes = 0
        resumeReading()
    }

    func pauseBody(of number: UInt64, _ paused: Bool) {
        guard number == requestNumber, phase == .handling, paused != bodyPaused else { return }
        bodyPaused = paused
        if paused { updateInterest() } else { resumeReading() }
    }

    // MARK: - Streamed answer, for the responder

    func startResponse(
        to number: UInt64, status: Int, headers: HTTPFieldLines, extraHeaders: HTTPFieldLines,
        framing: HTTPResponseFraming
    ) {
        guard number == requestNumber, phase == .handling, !answerStarted else { return }
        answerStarted = true
        dropUndecidedBody()
        let head: HTTPResponse.HeadFraming
        switch framing {
        case .contentLength(let length):
            streamedFraming = .contentLength
            head = .contentLength(length)
        case .streamed where clientSpeaksHTTP11:
            streamedFraming = .chunked
            head = .chunked
        case .streamed:
            streamedFraming = .untilClose
            keepAlive = false
            head = .untilClose
        case .noBody(let advertised):
            streamedFraming = .contentLength
            head = advertised.map { .contentLength($0) } ?? .untilClose
        }
        let keepAlive = keepAlive
        let announceKeepAlive = !clientSpeaksHTTP11
        output.appendEncoded {
            HTTPResponse.writeHead(
                status: status, headers: headers, extraHeaders: extraHeaders, framing: head, keepAlive: keepAlive,
                announceKeepAlive: announceKeepAlive, into: &$0)
        }
        if isHeadRequest { streamedFraming = .contentLength }  // a HEAD answer has no body, whatever is sent
        scheduleFlush()
    }

    /// Appends body bytes; false once the client falls behind (wait for ``whenClientDrained``).
    func sendResponseBody(of number: UInt64, _ bytes: [UInt8]) -> Bool {
        guard number == requestNumber, phase != .closed, let framing = streamedFraming, !bytes.isEmpty else {
            return true
        }
        if !isHeadRequest {
            if framing == .chunked { output.append(contentsOf: (String(bytes.count, radix: 16) + "\r\n").utf8) }
            output.append(contentsOf: bytes)
            if framing == .chunked { output.append(contentsOf: "\r\n".utf8) }
        }
        scheduleFlush()
        return output.pendingCount < Self.outputHighWater
    }

    func whenClientDrained(of number: UInt64, _ callback: @escaping () -> Void) {
        guard number == requestNumber, phase != .closed else { return }
        if output.isEmpty {
            callback()
        } else {
            whenDrained = callback
        }
    }

    func finishResponse(of number: UInt64) {
        guard number == requestNumber, let framing = streamedFraming else { return }
        if framing == .chunked && !isHeadRequest { output.append(contentsOf: "0\r\n\r\n".utf8) }
        streamedFraming = nil
        answerComplete = true
        scheduleFlush()
        completeIfDone()
    }

    func whenClosed(of number: UInt64, _ callback: @escaping () -> Void) {
        guard number == requestNumber, phase != .closed else { return callback() }
        onClientClose = callback
    }

    /// Ends the connection without finishing the answer (the upstream failed mid-response).
    func abortResponse(of number: UInt64) {
        guard number == requestNumber else { return }
        close()
    }
}
