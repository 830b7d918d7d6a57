import SluiceNet

/// A lasting channel to one Redis server from one event loop: it connects on first use,
/// reconnects with backoff (resolving the name again each time), pings when idle, loads
/// scripts where needed, and holds commands while no connection is ready.
///
/// A node belongs to its loop: call it only from that loop's thread. ``RedisRouter`` decides
/// which node runs each command (and retries what a node's server refused).
///
/// ```swift
/// loop.execute {
///     node.send(["INCR", "hits"]) { result in print(result) }
/// }
/// ```
final class RedisNode: @unchecked Sendable {
    /// The loop this node belongs to.
    let loop: EventLoop
    /// Where and how it connects.
    private(set) var configuration: RedisConfiguration
    /// How many connections were opened after the first (visible for metrics and tests).
    private(set) var reconnects = 0
    /// Asked for the address before every connection attempt (Sentinel: the current primary);
    /// nil connects to ``RedisConfiguration/endpoint``.
    var endpointProvider: ((@escaping (HostAndPort) -> Void) -> Void)?
    /// Told what a new connection's server said about itself; returning false closes that
    /// connection and tries again later (for instance: a replica where a primary was expected).
    var onConnected: ((RedisServerInfo) -> Bool)?
    /// Receives out-of-band messages (pub/sub).
    var onPush: ((RESPValue) -> Void)?
    /// Receives the failures of requests that carry ``RedisRequest/routing`` (their router
    /// decides whether to send them again); other requests' failures go to their handler.
    var onRoutedFailure: ((RedisRequest, RedisError, RedisNode) -> Void)?

    // `@exclusivity(unchecked)`: loop-confined state on the per-command path, and no access to it
    // spans a call into other code, so no two accesses can overlap; Swift's run-time exclusivity
    // checks on these properties were 12% of the client's CPU time per pipelined command.
    // Loop-confined state.
    @exclusivity(unchecked) private var connection: RedisConnection?
    private var connecting = false
    @exclusivity(unchecked) private var waiting = RingBuffer<RedisRequest>()
    private var backoff: Backoff
    private var reconnectTimer: TimerID?
    private var heartbeatTimer: TimerID?
    private var waitingWatchdog: TimerID?
    private var everConnected = false
    @exclusivity(unchecked) private var isShutDown = false
    private var lastError: RedisError?
    private let commandTimeoutNanoseconds: UInt64

    /// A node for `configuration` on `loop`. Nothing connects until the first command.
    init(configuration: RedisConfiguration, loop: EventLoop) {
        self.configuration = configuration
        self.loop = loop
        self.backoff = configuration.reconnectBackoff
        self.commandTimeoutNanoseconds = configuration.commandTimeout.nanoseconds
    }

    /// Sends a command; `handler` gets the reply on the loop. `timeout` defaults to
    /// ``RedisConfiguration/commandTimeout`` and covers waiting for a connection too.
    func send(_ arguments: [RESPArgument], timeout: Duration? = nil, handler: @escaping RedisReplyHandler) {
        submit(RedisRequest(arguments: arguments, deadline: deadline(timeout), handler: handler))
    }

    /// Closes the connection: commands waiting for a connection fail with ``RedisError/Code/shutdown``,
    /// commands already written with ``RedisError/Code/connectionClosed``.
    func shutdown() {
        isShutDown = true
        for timer in [reconnectTimer, heartbeatTimer, waitingWatchdog].compactMap({ $0 }) { loop.cancel(timer) }
        connection?.close(.shutdown, "the client is shutting down")
        connection = nil
        let error = RedisError(code: .shutdown, message: "the client is shutting down", endpoint: endpoint)
        for request in waiting.removeAll() { fail(request, error) }
    }

    /// True while a connection is ready for commands.
    var isConnected: Bool { connection?.state == .ready }

    /// Points the node at another server: the current connection closes (commands written on
    /// it fail as possibly run; unsent ones move to the new server).
    func retarget(to endpoint: HostAndPort) {
        guard endpoint != configuration.endpoint else { return }
        configuration.endpoint = endpoint
        dropConnection("the server moved to \(endpoint)")
    }

    /// Closes the current connection and reconnects, for a server that turned out to be the wrong one.
    func dropConnection(_ reason: String) {
        connection?.close(.connectionClosed, reason)
    }

    /// Fails the commands waiting for a connection with ``RedisError/Code/notSent``, so that a
    /// router can send them elsewhere.
    func abandonWaiting(_ reason: String) {
        let error = RedisError(code: .notSent, message: reason, endpoint: endpoint)
        for request in waiting.removeAll() { fail(request, error) }
    }

    private var endpoint: String { configuration.endpoint.description }

    private func deadline(_ timeout: Duration?) -> UInt64 {
        loop.tickTime &+ (timeout?.nanoseconds ?? commandTimeoutNanoseconds)
    }

    /// Gives `request` its final failure here: to the router when it was routed, else to its handler.
    private func fail(_ request: RedisRequest, _ error: RedisError) {
        if request.routing != nil, let onRoutedFailure {
            onRoutedFailure(request, error, self)
        } else {
            request.handler(.failure(error))
        }
    }

    // MARK: - Dispatch

    /// Sends `request` now, or queues it until a connection is ready.
    func submit(_ request: RedisRequest) {
        if isShutDown {
            fail(request, RedisError(code: .shutdown, message: "the client was shut down", endpoint: endpoint))
            return
        }
        if let connection, connection.state == .ready {
            dispatch(request, on: connection)
            return
        }
        guard waiting.count < configuration.maxQueuedCommands else {
            let message = "\(waiting.count) commands already wait for a connection"
            fail(request, RedisError(code: .queueFull, message: message, endpoint: endpoint))
            return
        }
        waiting.append(request)
        if waitingWatchdog == nil { armWaitingWatchdog(at: request.deadline) }
        if connection == nil && !connecting && reconnectTimer == nil { connect() }
    }

    private func dispatch(_ request: RedisRequest, on connection: RedisConnection) {
        if let script = request.script, !connection.loadedScripts.contains(script.sha1) {
            connection.loadedScripts.insert(script.sha1)
            // Ordered before the EVALSHA on the same connection; if it fails, EVALSHA says NOSCRIPT.
            let load: [RESPArgument] = ["SCRIPT", "LOAD", .string(script.source)]
            connection.send(RedisRequest(arguments: load, deadline: request.deadline, handler: Self.ignoreReply))
        }
        if request.asking {
            connection.send(RedisRequest(arguments: ["ASKING"], deadline: request.deadline, handler: Self.ignoreReply))
        }
        connection.send(request)
    }

    private static func ignoreReply(_: Result<RESPValue, RedisError>) {}

    /// Completes `request`, or sends it again when that is safe: it never left (`notSent`), or
    /// the server had forgotten its script (`NOSCRIPT`: nothing ran).
    private func replied(
        _ request: RedisRequest, _ result: Result<RESPValue, RedisError>, from connection: RedisConnection
    ) {
        guard case .failure(let error) = result else {
            request.handler(result)
            return
        }
        if error.code == .notSent && !isShutDown && request.deadline > MonotonicClock.now() {
            submit(request)
        } else if error.serverCode == "NOSCRIPT", let script = request.script, !request.reloadedScript {
            connection.loadedScripts.remove(script.sha1)
            var retry = request
            retry.reloadedScript = true
            submit(retry)
        } else {
            fail(request, error)
        }
    }

    // MARK: - Connecting

    private func connect() {
        connecting = true
        guard let endpointProvider else { return resolve(configuration.endpoint) }
        endpointProvider { [self] endpoint in
            guard !isShutDown else { return }
            configuration.endpoint = endpoint
            resolve(endpoint)
        }
    }

    private func resolve(_ target: HostAndPort) {
        Resolver.resolve(target, on: loop) { [self] result in
            guard !isShutDown else { return }
            switch result {
            case .success(let addresses):
                open(addresses[(reconnects + backoff.attempt) % addresses.count])
            case .failure(let error):
                connectionFailed(RedisError(code: .connectFailed, message: error.description, endpoint: endpoint))
            }
        }
    }

    private func open(_ address: SocketAddress) {
        do {
            connection = try RedisConnection(
                address: address, configuration: configuration, loop: loop,
                onReady: { [unowned self] connection in connectionReady(connection) },
                onReply: { [unowned self] request, result, connection in replied(request, result, from: connection) },
                onClose: { [unowned self] connection, error in connectionClosed(connection, error) },
                onPush: { [unowned self] message in onPush?(message) })
        } catch {
            connectionFailed(error)
        }
    }

    private func connectionReady(_ connection: RedisConnection) {
        if let onConnected, !onConnected(connection.serverInfo) {
            connection.close(.connectFailed, "the server is not the one wanted (\(connection.serverInfo))")
            return
        }
        connecting = false
        backoff.reset()
        if everConnected { reconnects += 1 }
        everConnected = true
        lastError = nil
        scheduleHeartbeat()
        for request in waiting.removeAll() { dispatch(request, on: connection) }
    }

    private func connectionClosed(_ closed: RedisConnection, _ error: RedisError) {
        guard connection === closed else { return }
        connection = nil
        connectionFailed(error)
    }

    private func connectionFailed(_ error: RedisError) {
        connecting = false
        lastError = error
        if error.code == .authenticationFailed || error.code == .protocolError {
            // Retrying cannot fix credentials or a bad database number: tell the callers now.
            for request in waiting.removeAll() { fail(request, error) }
        }
        guard !isShutDown, reconnectTimer == nil else { return }
        // Reconnect after a jittered pause when commands wait or the node was ever connected (a
        // warm connection is ready for the next command); a node that never connected waits for use.
        let delay = backoff.nextDelay()
        reconnectTimer = loop.schedule(after: delay) { [self] in
            reconnectTimer = nil
            if !waiting.isEmpty || everConnected { connect() }
        }
    }

    // MARK: - Timers

    private func scheduleHeartbeat() {
        if let heartbeatTimer { loop.cancel(heartbeatTimer) }
        heartbeatTimer = loop.schedule(after: configuration.heartbeatInterval) { [self] in
            heartbeatTimer = nil
            guard let connection, connection.state == .ready else { return }
            let quiet = MonotonicClock.now() &- connection.lastReadTime
            if connection.isIdle && quiet >= configuration.heartbeatInterval.nanoseconds {
                // A dead peer shows as a deadline miss, which closes the connection.
                connection.send(RedisRequest(arguments: ["PING"], deadline: deadline(nil), handler: Self.ignoreReply))
            }
            scheduleHeartbeat()
        }
    }

    private func armWaitingWatchdog(at deadline: UInt64) {
        waitingWatchdog = loop.schedule(atNanoseconds: deadline) { [self] in
            waitingWatchdog = nil
            let now = MonotonicClock.now()
            var expired: [RedisRequest] = []
            var nextDeadline = UInt64.max
            for request in waiting.removeAll() {
                if request.deadline <= now {
                    expired.append(request)
                } else {
                    waiting.append(request)
                    nextDeadline = min(nextDeadline, request.deadline)
                }
            }
            if !waiting.isEmpty { armWaitingWatchdog(at: nextDeadline) }
            // Failed only once the queue is whole again: a caller that sends again from its
            // failure handler (a router asking for the slot map) queues behind the survivors.
            let reason = lastError.map { "; last connection error: \($0.message)" } ?? ""
            let message = "no connection to the server within the command deadline\(reason)"
            for request in expired {
                fail(request, RedisError(code: .timeout, message: message, endpoint: endpoint))
            }
        }
    }
}
