import SluiceNet

/// One keep-alive connection to the upstream, carrying one call at a time. Owned by its loop.
final class UpstreamConnection: EventHandler {
    static let outputHighWater = 256 * 1024
    static let idempotentMethods: Set<String> = ["GET", "HEAD", "OPTIONS", "PUT", "DELETE"]

    enum State {
        case connecting, idle, busy, closed
    }

    let loop: EventLoop
    let address: SocketAddress
    private let socket: Socket
    private(set) var state = State.connecting
    /// True once a call has completed on it: a failure on a reused connection may be a stale
    /// keep-alive closed by the upstream, which is worth one retry for a bodyless request.
    private(set) var reused = false
    private var call: UpstreamCall?
    private var parser: HTTPResponseParser
    private var output = OutputBuffer()
    private var input = [UInt8](repeating: 0, count: 64 * 1024)
    private var interest: Interest = [.read, .write]
    private let responseTimeout: Duration
    /// `responseTimeout` in nanoseconds, converted once.
    private let timeoutNanoseconds: UInt64
    /// Fails a call whose upstream moves no byte for `responseTimeout` while Sluice waits on it
    /// (see ``checkForStall()``).
    private var stallTimer: TimerID?
    /// When bytes last moved to or from the upstream during the call (a ``EventLoop/tickTime``).
    private var lastProgress: UInt64 = 0
    private let onIdle: (UpstreamConnection) -> Void
    private let onClose: (UpstreamConnection) -> Void
    /// Offered a call that failed on a reused connection before any answer; true if it took it.
    private let retry: (UpstreamCall) -> Bool

    init(
        address: SocketAddress, loop: EventLoop, responseTimeout: Duration,
        onIdle: @escaping (UpstreamConnection) -> Void, onClose: @escaping (UpstreamConnection) -> Void,
        retry: @escaping (UpstreamCall) -> Bool
    ) throws(IOError) {
        self.address = address
        self.loop = loop
        self.responseTimeout = responseTimeout
        self.timeoutNanoseconds = responseTimeout.nanoseconds
        self.onIdle = onIdle
        self.onClose = onClose
        self.retry = retry
        self.parser = HTTPResponseParser()
        let (socket, connected) = try Socket.connect(to: address)
        self.socket = socket
        if connected { state = .idle }
        do {
            try socket.setNoDelay()
            try loop.register(socket.fd, interest: interest, handler: self)
        } catch {
            socket.close()
            throw error
        }
    }

    var hasPendingOutput: Bool { !output.isEmpty }

    /// Starts `call` on this connection (connecting or idle).
    func start(_ call: UpstreamCall) {
        self.call = call
        call.connection = self
        if state == .idle { state = .busy }
        output.append(contentsOf: call.requestHead)
        lastProgress = loop.tickTime
        scheduleStallCheck()
        if state == .busy { flush() }
    }

    /// The request is complete: the upstream's time to answer starts now, so a slow upload is
    /// not mistaken for a slow upstream.
    func bodyFinished() {
        lastProgress = loop.tickTime
    }

    private func scheduleStallCheck() {
        stallTimer = loop.schedule(atNanoseconds: lastProgress &+ timeoutNanoseconds) { [self] in
            stallTimer = nil
            checkForStall()
        }
    }

    /// Fails the call when the upstream has moved no byte for `responseTimeout` while Sluice waits
    /// on it: to connect and take request bytes it has not read, to start answering once the
    /// request is complete (a 504), or for the answer's next bytes, unless the client is the slow
    /// one and reading is paused. A client slow to send its body is not the upstream's doing, and
    /// its own idle timeout applies.
    private func checkForStall() {
        guard let call, state != .closed else { return }
        let waitingOnUpstream =
            call.responseStarted ? !call.responsePaused : !output.isEmpty || call.bodyEnded
        if !waitingOnUpstream { lastProgress = loop.tickTime }
        guard waitingOnUpstream && loop.tickTime &- lastProgress >= timeoutNanoseconds else {
            return scheduleStallCheck()
        }
        let message =
            call.responseStarted
            ? "\(address) moved no byte for \(responseTimeout)"
            : "no response from \(address) within \(responseTimeout)"
        fail(UpstreamError(kind: .timeout, message: message))
    }

    /// Queues request bytes; false when the upstream falls behind.
    func write(_ bytes: [UInt8]) -> Bool {
        if output.isEmpty { lastProgress = loop.tickTime }  // the upstream's time to take them starts now
        output.append(contentsOf: bytes)
        if state == .busy { flush() }
        return output.pendingCount < Self.outputHighWater
    }

    func resumeReading() {
        lastProgress = loop.tickTime  // the client was the slow one until now
        updateInterest()
        readAvailable()
    }

    func handleEvents(_ events: UInt32) {
        if state == .connecting {
            do {
                try socket.finishConnect()
            } catch {
                fail(UpstreamError(kind: .unavailable, message: "cannot connect to \(address): \(error)"))
                return
            }
            state = call == nil ? .idle : .busy
            if state == .idle { onIdle(self) }
        }
        if state != .closed && events & Readiness.writable != 0 { flush() }
        if state != .closed && events & Readiness.failed != 0 && (call?.responsePaused ?? false) {
            // Reading is paused, so the read below would not notice: without this the loop spins.
            fail(UpstreamError(kind: .unavailable, message: "\(address) reset the connection"))
            return
        }
        if state != .closed && events & Readiness.readable != 0 { readAvailable() }
    }

    private func flush() {
        let outcome: OutputBuffer.WriteOutcome
        do {
            outcome = try output.write(to: socket)
        } catch {
            fail(UpstreamError(kind: .unavailable, message: "writing to \(address): \(error)"))
            return
        }
        if outcome.written > 0 { lastProgress = loop.tickTime }
        if outcome.drained, let drained = call?.whenWritable {
            call?.whenWritable = nil
            drained()
        }
        updateInterest()
    }

    private func readAvailable() {
        while state != .closed {
            if let call, call.responsePaused {
                updateInterest()  // stop read events until the client drains
                return
            }
            let result: IOResult<Int>
            do {
                result = try input.withUnsafeMutableBytes { (bytes) throws(IOError) in try socket.read(into: bytes) }
            } catch {
                fail(UpstreamError(kind: .unavailable, message: "reading from \(address): \(error)"))
                return
            }
            switch result {
            case .wouldBlock:
                return
            case .processed(0):
                peerClosed()
                return
            case .processed(let count):
                guard call != nil else {
                    close()  // an idle connection must not talk
                    return
                }
                lastProgress = loop.tickTime
                parse(count: count)
                if count < input.count { return }
            }
        }
    }

    private func parse(count: Int) {
        var offset = 0
        while state != .closed, let call {
            let parsed = input.withUnsafeBytes { bytes -> Result<HTTPResponsePart?, HTTPParseError> in
                do throws(HTTPParseError) {
                    let slice = UnsafeRawBufferPointer(rebasing: bytes[0..<count])
                    return .success(try parser.next(slice, offset: &offset, requestMethod: call.method))
                } catch {
                    return .failure(error)
                }
            }
            switch parsed {
            case .failure(let error):
                fail(UpstreamError(kind: .invalidResponse, message: "from \(address): \(error)"))
                return
            case .success(nil):
                return
            case .success(.head(let head)):
                if head.isInterim { continue }
                if head.status == 101 {
                    // Sluice forwards no `Upgrade`, so the upstream switched protocols unasked.
                    let reason = "from \(address): 101 Switching Protocols to a request that asked for no upgrade"
                    fail(UpstreamError(kind: .invalidResponse, message: reason))
                    return
                }
                call.responseStarted = true
                call.delegate?.upstreamResponded(head)
                keepAliveAfterResponse = head.keepAlive
            case .success(.body(let bytes)):
                if call.delegate?.upstreamBody(bytes) == false { call.responsePaused = true }
            case .success(.end):
                // Bytes read past the answer's end (but for stray line ends, which the parser
                // skips before a status line anyway): the upstream and Sluice disagree on where
                // it ended, so the connection is not reused, lest they answer the next call.
                if Self.hasMoreThanLineEnds(input, from: offset, to: count) { keepAliveAfterResponse = false }
                complete()
                return
            }
        }
    }

    private var keepAliveAfterResponse = false

    private static func hasMoreThanLineEnds(_ bytes: [UInt8], from start: Int, to end: Int) -> Bool {
        bytes[start..<end].contains { $0 != UInt8(ascii: "\r") && $0 != UInt8(ascii: "\n") }
    }

    private func peerClosed() {
        guard call != nil else {
            close()  // an idle pooled connection the upstream let go
            return
        }
        let part: HTTPResponsePart?
        do {
            part = try parser.peerClosed()
        } catch {
            fail(UpstreamError(kind: .unavailable, message: "\(address) closed the connection mid-response"))
            return
        }
        if case .end = part {
            keepAliveAfterResponse = false
            complete()
        } else {
            fail(UpstreamError(kind: .unavailable, message: "\(address) closed the connection before answering"))
        }
    }

    private func complete() {
        guard let call else { return }
        if let stallTimer { loop.cancel(stallTimer) }
        stallTimer = nil
        self.call = nil
        call.connection = nil
        call.finished = true
        reused = true
        call.releaseWaitingWriter()
        let delegate = call.delegate
        call.delegate = nil
        delegate?.upstreamFinished()
        if keepAliveAfterResponse && call.bodyEnded && output.isEmpty {
            state = .idle
            parser = HTTPResponseParser()
            updateInterest()
            onIdle(self)
        } else {
            close()
        }
    }

    private func fail(_ error: UpstreamError) {
        guard let call else {
            close()
            return
        }
        // A kept-alive connection the upstream closed just as we used it: one fresh try, but only
        // for a bodyless idempotent request that got no answer, which is safe to send twice.
        let mayRetry =
            reused && !call.responseStarted && !call.hasBody && error.kind == .unavailable
            && Self.idempotentMethods.contains(call.method)
        self.call = nil
        call.connection = nil
        close()
        if mayRetry && retry(call) { return }
        call.finished = true
        call.releaseWaitingWriter()
        let delegate = call.delegate
        call.delegate = nil
        delegate?.upstreamFailed(error, responseStarted: call.responseStarted)
    }

    private func updateInterest() {
        guard state != .closed else { return }
        var wanted: Interest = []
        if !(call?.responsePaused ?? false) { wanted.insert(.read) }
        if state == .connecting || !output.isEmpty { wanted.insert(.write) }
        guard wanted != interest else { return }
        interest = wanted
        do {
            try loop.reregister(socket.fd, interest: wanted)
        } catch {
            fail(UpstreamError(kind: .unavailable, message: "\(error)"))
        }
    }

    func close() {
        guard state != .closed else { return }
        state = .closed
        if let stallTimer { loop.cancel(stallTimer) }
        loop.unregister(socket.fd)
        socket.close()
        onClose(self)
    }
}
