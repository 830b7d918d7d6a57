import SluiceNet

/// One accepted client connection: reads requests with the incremental parser, hands each head
/// to the handler, and writes the answers in request order. Owned by its event loop.
///
/// One request is in flight at a time: while a request waits for its answer the connection
/// parses no further (pipelined requests wait in the buffer, and the socket stops being read
/// once the buffer is full), so answers can never overtake each other.
///
/// Bodies are never held whole. A request body goes to the handler's consumer as it arrives
/// (proxy mode), waits in a small buffer until the handler decides (reading pauses when it is
/// full), or is dropped once the request is answered. A whole answer (`respond`) is written
/// once the request body has been read to its end, so a body that turns out malformed gets its
/// 400 instead; a streamed answer (`startResponse`) goes out at once, with backpressure both ways.
final class HTTPServerConnection: EventHandler {
    enum Phase {
        /// Between requests (keep-alive). Times out after the idle timeout.
        case idle
        /// Some bytes of a head have arrived. Times out after the header timeout (slowloris).
        case readingHead
        /// A head was handed to the handler; its body may still be arriving.
        case handling
        /// An answer that ends the connection is being written; then the socket closes.
        case closing
        case closed
    }

    let loop: EventLoop
    let socket: Socket
    let peer: SocketAddress?
    private let settings: HTTPServerSettings
    /// The settings' timeouts in nanoseconds, converted once (`Duration`'s 128-bit arithmetic
    /// cost two conversions per request).
    private let idleTimeout: UInt64
    private let headerTimeout: UInt64
    private let handler: any HTTPRequestHandler
    private let onClose: (HTTPServerConnection) -> Void

    // `@exclusivity(unchecked)` below: the request path's state, confined to the loop, and no
    // access to it spans a call into other code (handlers and body consumers are called between
    // accesses; a stored callback is copied out before it is called), so no two can overlap;
    // the run-time checks were 8% of the server's own CPU time per request, and a further 4%
    // for the per-request resets of the streaming state and the callbacks.
    @exclusivity(unchecked) var phase = Phase.idle
    @exclusivity(unchecked) private var parser: HTTPRequestParser
    /// Lent by `inputBuffers` while there are bytes to parse; empty while the connection is idle.
    @exclusivity(unchecked) private var input: [UInt8] = []
    private let inputBuffers: InputBufferPool
    @exclusivity(unchecked) private var inputStart = 0
    @exclusivity(unchecked) private var inputEnd = 0
    @exclusivity(unchecked) var output = OutputBuffer()
    @exclusivity(unchecked) private var flushScheduled = false
    /// The socket took less than the output: wait for it to be writable. Otherwise output goes
    /// out at the end of the loop turn (`scheduleFlush`) without watching for writability, which
    /// would cost two `epoll_ctl` calls per response.
    @exclusivity(unchecked) private var outputBlocked = false
    @exclusivity(unchecked) private var interest = Interest.read
    /// When the current phase must end, as a ``MonotonicClock`` reading; checked by the server's sweeper.
    @exclusivity(unchecked) private(set) var deadline: UInt64

    // The request in flight.
    @exclusivity(unchecked) var requestNumber: UInt64 = 0
    @exclusivity(unchecked) var keepAlive = true
    @exclusivity(unchecked) var isHeadRequest = false
    @exclusivity(unchecked) var clientSpeaksHTTP11 = true
    @exclusivity(unchecked) var bodyDone = false
    /// The handler has started its answer (whole or streamed); the answer may still be going out.
    @exclusivity(unchecked) var answerStarted = false
    /// The whole answer has been handed to the output.
    @exclusivity(unchecked) var answerComplete = false
    /// An answer given before the request body was read, written once it has been (its extra
    /// headers kept apart, so holding it copies no header array).
    @exclusivity(unchecked) private var heldResponse: (response: HTTPResponse, extraHeaders: HTTPFieldLines)?
    @exclusivity(unchecked) private var processing = false
    /// The client sent its FIN: nothing more will arrive, so reading stops.
    @exclusivity(unchecked) private var inputClosed = false
    /// Told when the connection closes, so a streaming producer (proxy mode) can stop.
    @exclusivity(unchecked) var onClientClose: (() -> Void)?

    // Request body and response streaming: see HTTPServerConnection+Streaming.swift.
    @exclusivity(unchecked) var bodyConsumer: ((HTTPBodyEvent) -> Void)?
    @exclusivity(unchecked) var bufferedBody: [HTTPBodyEvent] = []
    @exclusivity(unchecked) var bufferedBodyBytes = 0
    @exclusivity(unchecked) var bodyPaused = false
    @exclusivity(unchecked) var streamedFraming: StreamedFraming?
    @exclusivity(unchecked) var whenDrained: (() -> Void)?

    enum StreamedFraming {
        case contentLength, chunked, untilClose
    }

    init(
        socket: Socket, peer: SocketAddress?, loop: EventLoop, settings: HTTPServerSettings,
        handler: any HTTPRequestHandler, inputBuffers: InputBufferPool,
        onClose: @escaping (HTTPServerConnection) -> Void
    ) {
        self.socket = socket
        self.peer = peer
        self.loop = loop
        self.settings = settings
        self.handler = handler
        self.onClose = onClose
        self.parser = HTTPRequestParser(limits: settings.parserLimits)
        self.inputBuffers = inputBuffers
        self.idleTimeout = settings.idleTimeout.nanoseconds
        self.headerTimeout = settings.headerTimeout.nanoseconds
        self.deadline = loop.tickTime &+ idleTimeout
    }

    /// Registers with the loop; call once after accepting.
    func start() throws(IOError) {
        try socket.setNoDelay()
        try loop.register(socket.fd, interest: interest, handler: self)
    }

    // MARK: - Events

    func handleEvents(_ events: UInt32) {
        if events & Readiness.failed != 0 && !interest.contains(.read) {
            close()  // not reading, so nothing else would notice: level-triggered epoll would spin
            return
        }
        if events & Readiness.writable != 0 { writeOutput() }
        if phase != .closed && events & Readiness.readable != 0 && interest.contains(.read) { readInput() }
    }

    /// Called by the server's sweeper: ends a connection whose phase outlived its deadline.
    func checkDeadline(now: UInt64) {
        guard now >= deadline else { return }
        switch phase {
        case .idle:
            close()
        case .readingHead:
            fail(status: 408, "the request head did not arrive within \(settings.headerTimeout)")
        case .handling, .closing:
            // No byte in or out for the idle timeout while the client owes one: it stopped sending
            // its body, or stopped reading the answer. While the handler or the upstream owes the
            // next byte, their own deadlines (store budget, upstream timeout) apply instead.
            if waitingOnClient {
                close()
            } else {
                deadline = now &+ idleTimeout
            }
        case .closed:
            break
        }
    }

    /// Stops reading new requests: an idle connection closes now, a busy one after its answer.
    func drain() {
        keepAlive = false
        if phase == .idle { closeAfterOutput() }
    }

    /// Closes once what is queued has been written (at once when nothing is).
    private func closeAfterOutput() {
        keepAlive = false
        if !output.isEmpty {
            enter(.closing)
            updateInterest()
        } else {
            close()
        }
    }

    // MARK: - Reading

    private func readInput() {
        if input.isEmpty { input = inputBuffers.take() }
        if inputStart > 0 && inputEnd == input.count { compactInput() }
        guard inputEnd < input.count else {
            updateInterest()
            return
        }
        let result: IOResult<Int>
        do {
            result = try input.withUnsafeMutableBytes { (bytes) throws(IOError) in
                try socket.read(into: UnsafeMutableRawBufferPointer(rebasing: bytes[inputEnd...]))
            }
        } catch {
            close()
            return
        }
        switch result {
        case .wouldBlock:
            return
        case .processed(0):
            // The client finished sending: answer every request it sent, in order, then close
            // (`processInput` closes once no whole request is left).
            inputClosed = true
            if phase == .handling && !bodyDone && inputStart == inputEnd {
                fail(status: 400, "the client closed its side in the middle of the request body")
            } else {
                processInput()
            }
        case .processed(let count):
            inputEnd += count
            madeProgress()
            processInput()
        }
    }

    private func compactInput() {
        input.withUnsafeMutableBytes { bytes in
            bytes.baseAddress!.copyMemory(from: bytes.baseAddress! + inputStart, byteCount: inputEnd - inputStart)
        }
        inputEnd -= inputStart
        inputStart = 0
    }

    private func processInput() {
        processing = true
        defer { processing = false }
        while phase != .closed && phase != .closing {
            if phase == .handling && (bodyDone || bodyBlocked) { break }  // wait for the answer or the consumer
            var offset = 0
            // The error comes out beside the part rather than in a `Result`: destroying a
            // `Result<HTTPRequestPart?, …>` went through generic value witnesses, three times a request.
            var parseError: HTTPParseError?
            let parsed = input.withUnsafeBytes { bytes -> HTTPRequestPart? in
                do throws(HTTPParseError) {
                    let slice = UnsafeRawBufferPointer(rebasing: bytes[inputStart..<inputEnd])
                    return try parser.next(slice, offset: &offset)
                } catch {
                    parseError = error
                    return nil
                }
            }
            inputStart += offset
            if let parseError {
                fail(status: parseError.status, parseError.description)
                return
            }
            guard let part = parsed else {
                // The parser keeps unfinished lines itself: a started head shows in its state.
                if phase == .idle && !parser.isBetweenRequests { enter(.readingHead) }
                if inputClosed && (phase == .idle || phase == .readingHead) {
                    return closeAfterOutput()  // no whole request is left, and no more bytes will come
                }
                break
            }
            switch consume part {
            case .head(let head):
                begin(head)
            case .body(let bytes):
                deliverBody(.chunk(bytes))
            case .end:
                bodyDone = true
                deliverBody(.end)
                if let held = heldResponse {
                    heldResponse = nil
                    writeWhole(held.response, extraHeaders: held.extraHeaders)
                } else {
                    completeIfDone()
                }
            }
        }
        releaseInputIfIdle()
        updateInterest()
    }

    /// Between requests with nothing buffered, the read buffer goes back to the pool.
    private func releaseInputIfIdle() {
        guard inputStart == inputEnd else { return }
        inputStart = 0
        inputEnd = 0
        if phase == .idle { inputBuffers.give(&input) }
    }

    private func begin(_ head: consuming HTTPRequestHead) {
        requestNumber += 1
        keepAlive = keepAlive && head.keepAlive
        isHeadRequest = head.method == "HEAD"
        clientSpeaksHTTP11 = head.version == .http1_1
        bodyDone = false
        answerStarted = false
        answerComplete = false
        heldResponse = nil
        bodyConsumer = nil
        // Kept for the next request: a request without a body still buffers its end.
        if !bufferedBody.isEmpty { bufferedBody.removeAll(keepingCapacity: true) }
        bufferedBodyBytes = 0
        bodyPaused = false
        streamedFraming = nil
        whenDrained = nil
        onClientClose = nil
        enter(.handling)
        if head.expectsContinue {
            output.append(contentsOf: "HTTP/1.1 100 Continue\r\n\r\n".utf8)
            scheduleFlush()
        }
        // The head moves into the request: a copy retains each of its strings and fields.
        let request = HTTPRequest(head: head, peer: peer, loop: loop)
        handler.handle(request, responder: HTTPResponder(connection: self, requestNumber: requestNumber))
    }

    // MARK: - Answering

    /// Answers request `number` with `response` and then `extraHeaders` (written after its own,
    /// without copying them into it).
    func respond(_ response: HTTPResponse, extraHeaders: HTTPFieldLines, to number: UInt64) {
        guard number == requestNumber, phase == .handling, !answerStarted else { return }
        answerStarted = true
        dropUndecidedBody()
        if bodyDone {
            writeWhole(response, extraHeaders: extraHeaders)
        } else {
            // Held until the body has been read: a body that turns out malformed gets its 400
            // instead, and the client never sees two answers to one request.
            heldResponse = (response, extraHeaders)
        }
    }

    private func writeWhole(_ response: HTTPResponse, extraHeaders: HTTPFieldLines = HTTPFieldLines()) {
        output.appendEncoded {
            response.write(
                into: &$0, keepAlive: keepAlive, isHead: isHeadRequest, extraHeaders: extraHeaders,
                announceKeepAlive: !clientSpeaksHTTP11)
        }
        scheduleFlush()
        answerComplete = true
        completeIfDone()
    }

    /// Once both the answer and the request body are done: the next request, or the close.
    func completeIfDone() {
        guard phase == .handling, answerComplete, bodyDone else { return }
        if keepAlive {
            finishRequest()
        } else {
            enter(.closing)
            scheduleFlush()
        }
    }

    /// Parses what is already buffered once a pause ends.
    func resumeReading() {
        if !processing && phase == .handling && inputStart < inputEnd { processInput() }
        updateInterest()
    }

    private func finishRequest() {
        enter(.idle)
        if inputClosed && inputStart == inputEnd { return closeAfterOutput() }  // the client sent nothing more
        // Pipelined requests already buffered go next; inside processInput its own loop does it.
        if !processing && inputStart < inputEnd { processInput() } else if !processing { releaseInputIfIdle() }
    }

    /// Answers a broken or slow request with `status` and closes the connection. An answer the
    /// handler gave but that is still held (the body was not finished) is dropped.
    private func fail(status: Int, _ detail: String) {
        guard phase != .closed && phase != .closing else { return }
        if streamedFraming != nil || (answerStarted && heldResponse == nil && !answerComplete) {
            close()  // a streamed answer is under way: there is no clean way to say more
            return
        }
        if answerComplete && phase == .handling {
            close()  // the answer is out; the rest of this request's body was broken
            return
        }
        heldResponse = nil
        keepAlive = false
        output.appendEncoded { HTTPResponse.text(status, detail).write(into: &$0, keepAlive: false) }
        enter(.closing)
        scheduleFlush()
    }

    private func enter(_ next: Phase) {
        phase = next
        switch next {
        case .idle: deadline = loop.tickTime &+ idleTimeout
        case .readingHead: deadline = loop.tickTime &+ headerTimeout
        case .handling, .closing: deadline = loop.tickTime &+ idleTimeout
        case .closed: deadline = .max
        }
    }

    /// The connection cannot move until the client reads what is queued, or sends more of a body
    /// the handler is ready for.
    private var waitingOnClient: Bool {
        outputBlocked || (phase == .handling && !bodyDone && !bodyBlocked && !inputClosed)
    }

    /// Bytes moved while a request is in flight or its answer is going out: the stall deadline
    /// starts again. (Idle and head-reading deadlines do not move: they bound the whole phase.)
    private func madeProgress() {
        if phase == .handling || phase == .closing {
            deadline = loop.tickTime &+ idleTimeout
        }
    }

    // MARK: - Writing

    func scheduleFlush() {
        guard !flushScheduled else { return }
        flushScheduled = true
        loop.afterTick { [self] in
            flushScheduled = false
            writeOutput()
        }
    }

    private func writeOutput() {
        guard phase != .closed else { return }
        let outcome: OutputBuffer.WriteOutcome
        do {
            outcome = try output.write(to: socket)
        } catch {
            close()
            return
        }
        outputBlocked = !outcome.drained
        if outcome.written > 0 { madeProgress() }
        guard outcome.drained else {
            updateInterest()
            return
        }
        if phase == .closing {
            close()
            return
        }
        updateInterest()
        if let drained = whenDrained {
            whenDrained = nil
            drained()
        }
    }

    func updateInterest() {
        guard phase != .closed else { return }
        var wanted: Interest = []
        // Reading goes on while an answer is awaited (pipelined bytes wait in the buffer, which
        // bounds them), so a deferred answer costs no `epoll_ctl`; a paused body stops it.
        let paused = phase == .handling && !bodyDone && bodyBlocked
        if !paused && !inputClosed && phase != .closing && (input.isEmpty || inputEnd < input.count) {
            wanted.insert(.read)
        }
        if outputBlocked { wanted.insert(.write) }
        guard wanted != interest else { return }
        interest = wanted
        do {
            try loop.reregister(socket.fd, interest: wanted)
        } catch {
            close()
        }
    }

    func close() {
        guard phase != .closed else { return }
        phase = .closed
        loop.unregister(socket.fd)
        socket.close()
        inputBuffers.give(&input)
        // These closures hold responders, which hold this connection: let go of them.
        bodyConsumer = nil
        whenDrained = nil
        heldResponse = nil
        bufferedBody = []
        let notify = onClientClose
        onClientClose = nil
        notify?()
        onClose(self)
    }
}
