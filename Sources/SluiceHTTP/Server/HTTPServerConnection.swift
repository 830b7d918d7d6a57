import SluiceNet

/// One accepted client connection: reads requests with the incremental parser, hands each head
/// to the handler, and writes the answers in request order. Owned by its event loop.
///
/// One request is in flight at a time: while a request waits for its answer the connection
/// parses no further (pipelined requests wait in the buffer, and the socket stops being read
/// once the buffer is full), so answers can never overtake each other. Bodies are streamed
/// through the parser and dropped; a body is never held whole. An answer is written once the
/// request's body has been read to its end.
final class HTTPServerConnection: EventHandler {
    private enum Phase {
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
    private let handler: any HTTPRequestHandler
    private let onClose: (HTTPServerConnection) -> Void

    private var phase = Phase.idle
    private var parser: HTTPRequestParser
    private var input: [UInt8]
    private var inputStart = 0
    private var inputEnd = 0
    private var output: [UInt8] = []
    private var outputStart = 0
    private var flushScheduled = false
    private var interest = Interest.read
    /// When the current phase must end, as a ``MonotonicClock`` reading; checked by the server's sweeper.
    private(set) var deadline: UInt64

    // The request in flight.
    private var requestNumber: UInt64 = 0
    private var keepAlive = true
    private var isHeadRequest = false
    private var bodyDone = false
    private var answered = false
    private var heldResponse: HTTPResponse?
    private var processing = false

    init(
        socket: Socket, peer: SocketAddress?, loop: EventLoop, settings: HTTPServerSettings,
        handler: any HTTPRequestHandler, onClose: @escaping (HTTPServerConnection) -> Void
    ) {
        self.socket = socket
        self.peer = peer
        self.loop = loop
        self.settings = settings
        self.handler = handler
        self.onClose = onClose
        self.parser = HTTPRequestParser(limits: settings.parserLimits)
        self.input = Array(repeating: 0, count: settings.readBufferSize)
        self.deadline = loop.tickTime &+ settings.idleTimeout.nanoseconds
    }

    /// Registers with the loop; call once after accepting.
    func start() throws(IOError) {
        try socket.setNoDelay()
        try loop.register(socket.fd, interest: interest, handler: self)
    }

    // MARK: - Events

    func handleEvents(_ events: UInt32) {
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
        case .handling, .closing, .closed:
            break
        }
    }

    /// Stops reading new requests: an idle connection closes now, a busy one after its answer.
    func drain() {
        keepAlive = false
        if phase == .idle { close() }
    }

    // MARK: - Reading

    private func readInput() {
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
            // The client finished sending. Answer what is in flight, then close.
            keepAlive = false
            if phase == .idle || phase == .readingHead { close() } else { processInput() }
        case .processed(let count):
            inputEnd += count
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
            if phase == .handling && bodyDone { break }  // the next request waits for this answer
            var offset = 0
            let parsed = input.withUnsafeBytes { bytes -> Result<HTTPRequestPart?, HTTPParseError> in
                do throws(HTTPParseError) {
                    let slice = UnsafeRawBufferPointer(rebasing: bytes[inputStart..<inputEnd])
                    return .success(try parser.next(slice, offset: &offset))
                } catch {
                    return .failure(error)
                }
            }
            inputStart += offset
            let part: HTTPRequestPart?
            switch parsed {
            case .success(let next): part = next
            case .failure(let error):
                fail(status: error.status, error.description)
                return
            }
            guard let part else {
                // The parser keeps unfinished lines itself: a started head shows in its state.
                if phase == .idle && !parser.isBetweenRequests { enter(.readingHead) }
                break
            }
            switch part {
            case .head(let head):
                begin(head)
            case .body:
                break  // streamed through and dropped
            case .end:
                bodyDone = true
                if let held = heldResponse {
                    heldResponse = nil
                    write(held)
                }
            }
        }
        if inputStart == inputEnd {
            inputStart = 0
            inputEnd = 0
        }
        updateInterest()
    }

    private func begin(_ head: HTTPRequestHead) {
        requestNumber += 1
        keepAlive = keepAlive && head.keepAlive
        isHeadRequest = head.method == "HEAD"
        bodyDone = false
        answered = false
        heldResponse = nil
        enter(.handling)
        if head.expectsContinue {
            output.append(contentsOf: "HTTP/1.1 100 Continue\r\n\r\n".utf8)
            scheduleFlush()
        }
        let request = HTTPRequest(head: head, peer: peer, loop: loop)
        handler.handle(request, responder: HTTPResponder(connection: self, requestNumber: requestNumber))
    }

    // MARK: - Answering

    func respond(_ response: HTTPResponse, to number: UInt64) {
        guard number == requestNumber, phase == .handling, !answered else { return }
        answered = true
        if bodyDone {
            write(response)
        } else {
            // Held until the body has been read: a body that turns out malformed gets its 400
            // instead, and the client never sees two answers to one request.
            heldResponse = response
        }
    }

    private func write(_ response: HTTPResponse) {
        response.write(into: &output, keepAlive: keepAlive, isHead: isHeadRequest)
        scheduleFlush()
        if keepAlive {
            finishRequest()
        } else {
            phase = .closing
        }
    }

    private func finishRequest() {
        enter(.idle)
        // Pipelined requests already buffered go next; inside processInput its own loop does it.
        if !processing && inputStart < inputEnd { processInput() }
    }

    /// Answers a broken or slow request with `status` and closes the connection. An answer the
    /// handler gave but that is still held (the body was not finished) is dropped.
    private func fail(status: Int, _ detail: String) {
        guard phase != .closed && phase != .closing else { return }
        heldResponse = nil
        keepAlive = false
        HTTPResponse.text(status, detail).write(into: &output, keepAlive: false)
        phase = .closing
        scheduleFlush()
    }

    private func enter(_ next: Phase) {
        phase = next
        switch next {
        case .idle: deadline = loop.tickTime &+ settings.idleTimeout.nanoseconds
        case .readingHead: deadline = loop.tickTime &+ settings.headerTimeout.nanoseconds
        case .handling, .closing, .closed: deadline = .max
        }
    }

    // MARK: - Writing

    private func scheduleFlush() {
        guard !flushScheduled else { return }
        flushScheduled = true
        loop.afterTick { [self] in
            flushScheduled = false
            writeOutput()
        }
    }

    private func writeOutput() {
        guard phase != .closed else { return }
        while outputStart < output.count {
            let result: IOResult<Int>
            do {
                result = try output.withUnsafeBytes { (bytes) throws(IOError) in
                    try socket.write(UnsafeRawBufferPointer(rebasing: bytes[outputStart...]))
                }
            } catch {
                close()
                return
            }
            switch result {
            case .processed(let count):
                outputStart += count
            case .wouldBlock:
                updateInterest()
                return
            }
        }
        output.removeAll(keepingCapacity: output.capacity <= 1 << 16)
        outputStart = 0
        if phase == .closing {
            close()
        } else {
            updateInterest()
        }
    }

    private func updateInterest() {
        guard phase != .closed else { return }
        var wanted: Interest = []
        let waitingForAnswer = phase == .handling && bodyDone
        if !waitingForAnswer && phase != .closing && inputEnd < input.count { wanted.insert(.read) }
        if outputStart < output.count { wanted.insert(.write) }
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
        onClose(self)
    }
}
