import SluiceNet

/// Receives a command's reply, or why there is none. Always called on the connection's loop.
public typealias RedisReplyHandler = (Result<RESPValue, RedisError>) -> Void

/// One TCP connection to one Redis server, from connect to close. Owned by its event loop.
///
/// Commands sent during one loop iteration are appended to one buffer and leave in a single
/// `write` when the iteration ends (auto-pipelining); replies complete them in order. While a
/// read's replies are being delivered, the commands their callbacks send leave early, as soon
/// as they are at least as many as the replies still awaited (and at least
/// ``earlyFlushMinimum``): the server then works on that batch while the client handles the
/// rest, instead of the two taking turns with one batch between them.
/// A connection never reconnects — ``RedisNode`` replaces it — and it never resends:
/// when it dies, each waiting command learns whether its bytes had been written (may have
/// run: ``RedisError/Code/connectionClosed``) or not (``RedisError/Code/notSent``).
final class RedisConnection: EventHandler {
    enum State {
        case connecting, handshaking, ready, closed
    }

    private struct Pending {
        var request: RedisRequest
        /// Offset of the command's first byte in the stream of everything queued on this connection.
        var startOffset: UInt64
        /// When a missing reply means the connection is dead: the command's deadline, but never
        /// sooner than the configured command timeout, so that a caller's short budget does not
        /// tear down a healthy connection that is briefly slow.
        var expiry: UInt64
    }

    /// The fewest commands worth a `write` of their own in the middle of delivering replies.
    static let earlyFlushMinimum = 8

    let loop: EventLoop
    let address: SocketAddress
    // `@exclusivity(unchecked)` below: loop-confined state on the per-command path, and no access to
    // it spans a call into other code, so no two accesses can overlap; Swift's run-time exclusivity
    // checks on these properties were 12% of the client's CPU time per pipelined command.
    private let configuration: RedisConfiguration
    private let commandTimeoutNanoseconds: UInt64
    private let socket: Socket
    @exclusivity(unchecked) private(set) var state = State.connecting
    private(set) var protocolVersion = 3
    /// What the server said about itself while shaking hands.
    var serverInfo: RedisServerInfo { handshake.serverInfo }
    /// SHA-1s of the scripts this connection has sent with `SCRIPT LOAD`.
    @exclusivity(unchecked) var loadedScripts: Set<String> = []
    /// The last time bytes arrived; the heartbeat pings a connection quiet for longer than its interval.
    @exclusivity(unchecked) private(set) var lastReadTime: UInt64

    private var handshake: RedisHandshake
    @exclusivity(unchecked) private var pending = RingBuffer<Pending>()
    @exclusivity(unchecked) private var output = OutputBuffer()
    @exclusivity(unchecked) private var bytesQueued: UInt64 = 0
    @exclusivity(unchecked) private var bytesWritten: UInt64 = 0
    /// Commands sent since the output last drained.
    @exclusivity(unchecked) private var unwrittenCommands = 0
    @exclusivity(unchecked) private var flushScheduled = false
    @exclusivity(unchecked) private var waitingForWritable = false
    @exclusivity(unchecked) private var input: [UInt8] = Array(repeating: 0, count: 64 * 1024)
    @exclusivity(unchecked) private var inputStart = 0
    @exclusivity(unchecked) private var inputEnd = 0
    @exclusivity(unchecked) private var decoder = RESPDecoder()
    @exclusivity(unchecked) private var watchdog: TimerID?
    private var connectTimer: TimerID?

    private let onReady: (RedisConnection) -> Void
    private let onReply: (RedisRequest, Result<RESPValue, RedisError>, RedisConnection) -> Void
    private let onClose: (RedisConnection, RedisError) -> Void
    private let onPush: (RESPValue) -> Void

    /// Starts connecting to `address`; `onReady` or `onClose` reports the outcome on `loop`.
    /// Every request sent ends in exactly one `onReply`, with its reply or why there is none.
    init(
        address: SocketAddress, configuration: RedisConfiguration, loop: EventLoop,
        onReady: @escaping (RedisConnection) -> Void,
        onReply: @escaping (RedisRequest, Result<RESPValue, RedisError>, RedisConnection) -> Void,
        onClose: @escaping (RedisConnection, RedisError) -> Void,
        onPush: @escaping (RESPValue) -> Void = { _ in }
    ) throws(RedisError) {
        self.address = address
        self.configuration = configuration
        self.commandTimeoutNanoseconds = configuration.commandTimeout.nanoseconds
        self.loop = loop
        self.onReady = onReady
        self.onReply = onReply
        self.onClose = onClose
        self.onPush = onPush
        self.handshake = RedisHandshake(configuration: configuration)
        self.lastReadTime = MonotonicClock.now()
        let endpoint = "\(configuration.endpoint) (\(address))"
        do {
            // Even a connect that completed at once goes through the first writable event, so
            // the handshake (and any failure of it) always starts after init has returned.
            (socket, _) = try Socket.connect(to: address)
        } catch {
            throw RedisError(code: .connectFailed, message: error.description, endpoint: endpoint)
        }
        do {
            try loop.register(socket.fd, interest: [.read, .write], handler: self)
        } catch {
            socket.close()
            throw RedisError(code: .connectFailed, message: error.description, endpoint: endpoint)
        }
        // Timer closures hold the connection strongly; close() cancels them, ending the cycle.
        connectTimer = loop.schedule(after: configuration.connectTimeout) { [self] in
            guard state == .connecting || state == .handshaking else { return }
            close(.connectFailed, "no connection and handshake within \(configuration.connectTimeout)")
        }
    }

    /// `host:port (address)` for messages.
    var endpoint: String { "\(configuration.endpoint) (\(address))" }

    /// Queues a command; it leaves with everything else queued in this loop iteration, or
    /// earlier when sent while replies are delivered (see the type's description).
    /// Only on a ready connection.
    func send(_ request: RedisRequest) {
        precondition(state == .ready, "RedisConnection.send on a connection that is \(state)")
        let expiry = max(request.deadline, loop.tickTime &+ commandTimeoutNanoseconds)
        pending.append(Pending(request: request, startOffset: bytesQueued, expiry: expiry))
        unwrittenCommands += 1
        enqueue(request.arguments)
        if watchdog == nil { armWatchdog(at: expiry) }
    }

    /// True when no command waits for a reply.
    var isIdle: Bool { pending.isEmpty }

    /// Closes the connection; every waiting command fails (see the type's description).
    func close(_ code: RedisError.Code, _ message: String) {
        guard state != .closed else { return }
        state = .closed
        loop.unregister(socket.fd)
        socket.close()
        if let watchdog { loop.cancel(watchdog) }
        if let connectTimer { loop.cancel(connectTimer) }
        let error = RedisError(code: code, message: message, endpoint: endpoint)
        while let command = pending.popFirst() {
            var failure = error
            failure.wasSent = command.startOffset < bytesWritten
            if !failure.wasSent {
                failure.code = .notSent
            } else if failure.code != .timeout {
                failure.code = .connectionClosed
                failure.message = "\(message); the command was written and may have run, so it is not retried"
            }
            onReply(command.request, .failure(failure), self)
        }
        onClose(self, error)
    }

    // MARK: - Event loop callbacks

    func handleEvents(_ events: UInt32) {
        if state == .connecting {
            do {
                try socket.finishConnect()
            } catch {
                close(.connectFailed, error.description)
                return
            }
            startHandshake()
            return
        }
        if events & Readiness.readable != 0 { readAvailable() }
        if state != .closed && events & Readiness.writable != 0 { writeOutput() }
    }

    // MARK: - Handshake

    private func startHandshake() {
        state = .handshaking
        do {
            try socket.setNoDelay()
            try socket.setKeepAlive(idleSeconds: 5, intervalSeconds: 2, count: 3)
            try socket.setUserTimeout(milliseconds: UInt32(configuration.tcpUserTimeout.nanoseconds / 1_000_000))
            try loop.reregister(socket.fd, interest: .read)
        } catch {
            close(.connectFailed, error.description)
            return
        }
        for command in handshake.start() { enqueue(command) }
    }

    private func handleHandshake(_ reply: RESPValue) {
        switch handshake.receive(reply) {
        case .wait:
            break
        case .send(let commands):
            for command in commands { enqueue(command) }
        case .ready(let version):
            protocolVersion = version
            state = .ready
            if let connectTimer { loop.cancel(connectTimer) }
            connectTimer = nil
            onReady(self)
        case .fail(let code, let message):
            close(code, message)
        }
    }

    // MARK: - Writing

    private func enqueue(_ arguments: [RESPArgument]) {
        let before = output.pendingCount
        output.appendEncoded { RESPEncoder.encodeCommand(arguments, into: &$0) }
        bytesQueued += UInt64(output.pendingCount - before)
        if !flushScheduled && !waitingForWritable {
            flushScheduled = true
            loop.afterTick { [self] in
                flushScheduled = false
                writeOutput()
            }
        }
    }

    private func writeOutput() {
        guard state != .closed else { return }
        do {
            let outcome = try output.write(to: socket)
            bytesWritten += UInt64(outcome.written)
            if outcome.drained { unwrittenCommands = 0 }
            setWaitingForWritable(!outcome.drained)
        } catch {
            close(.connectionClosed, "\(error)")
        }
    }

    private func setWaitingForWritable(_ waiting: Bool) {
        guard waiting != waitingForWritable else { return }
        waitingForWritable = waiting
        do {
            try loop.reregister(socket.fd, interest: waiting ? [.read, .write] : .read)
        } catch {
            close(.connectionClosed, "\(error)")
        }
    }

    // MARK: - Reading

    private func readAvailable() {
        if inputEnd == input.count { makeRoomForInput() }
        let result: IOResult<Int>
        do {
            result = try input.withUnsafeMutableBytes { (bytes) throws(IOError) in
                try socket.read(into: UnsafeMutableRawBufferPointer(rebasing: bytes[inputEnd...]))
            }
        } catch {
            close(.connectionClosed, "\(error)")
            return
        }
        switch result {
        case .wouldBlock:
            return
        case .processed(0):
            close(.connectionClosed, "the server closed the connection")
            return
        case .processed(let count):
            inputEnd += count
            lastReadTime = MonotonicClock.now()
        }
        decodeReplies()
    }

    private func makeRoomForInput() {
        if inputStart > 0 {
            input.withUnsafeMutableBytes { bytes in
                bytes.baseAddress!.copyMemory(from: bytes.baseAddress! + inputStart, byteCount: inputEnd - inputStart)
            }
            inputEnd -= inputStart
            inputStart = 0
        }
        if inputEnd == input.count { input.append(contentsOf: repeatElement(0, count: input.count)) }
    }

    private func decodeReplies() {
        while state != .closed && inputStart < inputEnd {
            let value: RESPValue?
            var offset = 0
            do {
                value = try input.withUnsafeBytes { (bytes) throws(RESPDecodingError) in
                    try decoder.decode(UnsafeRawBufferPointer(rebasing: bytes[inputStart..<inputEnd]), offset: &offset)
                }
            } catch {
                close(.protocolError, "\(error)")
                return
            }
            guard let value else { break }
            inputStart += offset
            deliver(value)
            if unwrittenCommands >= Self.earlyFlushMinimum && unwrittenCommands >= pending.count - unwrittenCommands
                && !waitingForWritable
            {
                writeOutput()
            }
        }
        if inputStart == inputEnd {
            inputStart = 0
            inputEnd = 0
        }
    }

    private func deliver(_ value: RESPValue) {
        if case .push(let fields) = value {
            // RESP3 confirms SUBSCRIBE with a push, not a reply: it completes the command.
            if fields.first?.string?.lowercased() == "subscribe", let head = pending.first,
                head.request.arguments.first == "SUBSCRIBE"
            {
                _ = pending.popFirst()
                onReply(head.request, .success(value), self)
            } else {
                onPush(value)
            }
            return
        }
        if state == .handshaking {
            handleHandshake(value)
            return
        }
        if pending.isEmpty, case .array(let fields) = value, fields.first?.string == "message" {
            onPush(.push(fields))  // RESP2 delivers pub/sub messages as plain arrays
            return
        }
        guard let command = pending.popFirst() else {
            close(.protocolError, "a reply arrived with no command waiting for it: \(value)")
            return
        }
        if let message = value.errorMessage {
            let error = RedisError(code: .server, message: message, endpoint: endpoint, wasSent: true)
            onReply(command.request, .failure(error), self)
        } else {
            onReply(command.request, .success(value), self)
        }
    }

    // MARK: - Deadlines

    private func armWatchdog(at deadline: UInt64) {
        watchdog = loop.schedule(atNanoseconds: deadline) { [self] in checkDeadlines() }
    }

    private func checkDeadlines() {
        watchdog = nil
        guard state != .closed, let head = pending.first else { return }
        if head.expiry <= MonotonicClock.now() {
            close(.timeout, "no reply within the command deadline; the connection is closed")
        } else {
            armWatchdog(at: head.expiry)
        }
    }
}
