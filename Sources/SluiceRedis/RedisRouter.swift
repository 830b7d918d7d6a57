import SluiceNet

/// Sends each command, from one event loop, to the server that should run it — and again when
/// the server refused it *before* running it.
///
/// - **One address** (`redis://`): one ``RedisNode``. When the server turns out to be a
///   cluster node (its `HELLO` says `mode: cluster`, or it answers `MOVED`), the router
///   becomes a cluster router: a user never sees `MOVED`.
/// - **Cluster** (`redis-cluster://`): a slot map from `CLUSTER SLOTS`, one node per primary.
///   `MOVED` updates the map and retries there; `ASK` sends `ASKING` and the command together
///   to the importing node; the map is read again periodically and after redirects and
///   failures (merged, at most every 100 ms).
/// - **Sentinel** (`redis-sentinel://`): one node whose address the sentinels give before every
///   connection; `+switch-master` moves it at once; a connection to a replica is refused.
///
/// Everywhere: `TRYAGAIN`, `CLUSTERDOWN`, `LOADING`, `MASTERDOWN` and `BUSY` are retried after
/// a short pause while the command's deadline allows; `READONLY` (a demoted primary) drops the
/// connection and re-discovers. A command that may have run (written, then no reply) is never
/// sent again.
///
/// Call a router only on its loop.
///
/// ```swift
/// loop.execute {
///     router.send(["INCR", "hits"]) { result in print(result) }
/// }
/// ```
public final class RedisRouter: @unchecked Sendable {
    /// The loop this router belongs to.
    public let loop: EventLoop
    /// What it was configured with.
    public let configuration: RedisConfiguration
    /// `MOVED` and `ASK` redirects followed so far.
    public private(set) var redirects = 0
    // `@exclusivity(unchecked)` below: loop-confined state on the per-command path, and no access
    // to it spans a call into other code, so no two accesses can overlap; Swift's run-time
    // exclusivity checks on these properties were 12% of the client's CPU time per pipelined command.
    /// True once the router serves a cluster (configured, or detected behind one address).
    @exclusivity(unchecked) public private(set) var isCluster = false

    // Loop-confined state.
    private let defaultNode: RedisNode
    private var sentinel: SentinelWatcher?
    @exclusivity(unchecked) private var topology = ClusterTopology()
    private var nodes: [HostAndPort: RedisNode] = [:]
    private var retiring: Set<HostAndPort> = []
    @exclusivity(unchecked) private var refreshing = false
    private var refreshAgain = false
    private var lastRefreshStart: UInt64 = 0
    private var refreshTimer: TimerID?
    private var periodicTimer: TimerID?
    @exclusivity(unchecked) private var isShutDown = false

    private let commandTimeoutNanoseconds: UInt64
    /// The last timeout a command came with, and it in nanoseconds: callers pass the same one
    /// again and again (a store's budget), and converting a `Duration` is 128-bit arithmetic.
    @exclusivity(unchecked) private var lastTimeout: (duration: Duration, nanoseconds: UInt64) = (.zero, 0)

    private static let minimumRefreshGap: UInt64 = 100_000_000
    private static let refusedBeforeRunning: Set<Substring> = [
        "TRYAGAIN", "CLUSTERDOWN", "LOADING", "MASTERDOWN", "BUSY",
    ]

    /// A router for `configuration` on `loop`. Nothing connects until the first command.
    public init(configuration: RedisConfiguration, loop: EventLoop) {
        self.configuration = configuration
        self.loop = loop
        commandTimeoutNanoseconds = configuration.commandTimeout.nanoseconds
        defaultNode = RedisNode(configuration: configuration, loop: loop)
        routeFailures(of: defaultNode)
        switch configuration.deployment {
        case .single:
            defaultNode.onConnected = { [unowned self] info in
                if info.mode == "cluster" { becomeCluster() }
                return true
            }
        case .cluster:
            isCluster = true
            nodes[configuration.endpoint] = defaultNode
        case .sentinel(let name):
            let watcher = SentinelWatcher(
                configuration: configuration, primaryName: name, loop: loop,
                onSwitch: { [unowned self] primary in defaultNode.retarget(to: primary) })
            sentinel = watcher
            defaultNode.endpointProvider = { [unowned watcher] completion in watcher.askForPrimary(completion) }
            defaultNode.onConnected = { info in info.mode != "sentinel" && (info.role == nil || info.role == "master") }
        }
    }

    /// Sends a command; `handler` gets the reply on the loop. `timeout` defaults to
    /// ``RedisConfiguration/commandTimeout`` and covers waiting, redirects and retries.
    public func send(_ arguments: [RESPArgument], timeout: Duration? = nil, handler: @escaping RedisReplyHandler) {
        route(RedisRequest(arguments: arguments, deadline: deadline(timeout), handler: handler, routing: .init()))
    }

    /// Runs `script` with `EVALSHA` on the node that owns its first key, loading it there when needed.
    public func evalScript(
        _ script: RedisScript, keys: [RESPArgument], arguments: [RESPArgument], timeout: Duration? = nil,
        handler: @escaping RedisReplyHandler
    ) {
        let command: [RESPArgument] = ["EVALSHA", .string(script.sha1), .integer(Int64(keys.count))] + keys + arguments
        route(
            RedisRequest(
                arguments: command, script: script, deadline: deadline(timeout), handler: handler, routing: .init()))
    }

    /// Closes every connection; waiting commands fail with ``RedisError/Code/shutdown``.
    public func shutdown() {
        isShutDown = true
        for timer in [refreshTimer, periodicTimer].compactMap({ $0 }) { loop.cancel(timer) }
        defaultNode.shutdown()
        for node in nodes.values where node !== defaultNode { node.shutdown() }
        sentinel?.shutdown()
    }

    private func deadline(_ timeout: Duration?) -> UInt64 {
        guard let timeout else { return loop.tickTime &+ commandTimeoutNanoseconds }
        if timeout != lastTimeout.duration {
            lastTimeout = (timeout, timeout.nanoseconds)
        }
        return loop.tickTime &+ lastTimeout.nanoseconds
    }

    // MARK: - Routing

    /// Sends `command` (which carries ``RedisRequest/routing``) to its node; replies go straight
    /// to its handler, failures come back to ``completed(_:_:from:)``.
    private func route(_ command: RedisRequest) {
        guard !isShutDown else {
            let error = RedisError(
                code: .shutdown, message: "the client was shut down", endpoint: "\(configuration.endpoint)")
            return command.handler(.failure(error))
        }
        // Each attempt may reload its script once: the next node or connection may lack it too.
        var attempt = command
        attempt.reloadedScript = false
        destination(of: attempt).submit(attempt)
    }

    /// Makes `node` hand the failures of the commands this router sent back to ``completed(_:_:from:)``.
    private func routeFailures(of node: RedisNode) {
        node.onRoutedFailure = { [unowned self] request, error, node in completed(request, error, from: node) }
    }

    private func destination(of command: RedisRequest) -> RedisNode {
        guard isCluster else { return defaultNode }
        if topology.primaries.isEmpty && !refreshing { requestRefresh() }
        if let ask = command.routing?.askTarget { return node(for: ask) }
        if let slot = ClusterSlot.of(command: command.arguments), let owner = topology.primary(forSlot: slot) {
            return node(for: owner)
        }
        return defaultNode
    }

    /// The node for `endpoint`, made on first use.
    private func node(for endpoint: HostAndPort) -> RedisNode {
        if let known = nodes[endpoint] { return known }
        var nodeConfiguration = configuration
        nodeConfiguration.endpoint = endpoint
        nodeConfiguration.seeds = [endpoint]
        let made = RedisNode(configuration: nodeConfiguration, loop: loop)
        routeFailures(of: made)
        nodes[endpoint] = made
        return made
    }

    /// Follows a redirect, retries a refusal, or gives `error` to the command's handler.
    private func completed(_ command: RedisRequest, _ error: RedisError, from node: RedisNode) {
        let result = Result<RESPValue, RedisError>.failure(error)
        switch error.code {
        case .server:
            let code = error.serverCode ?? ""
            if code == "MOVED" || code == "ASK",
                let redirect = ClusterRedirect(errorMessage: error.message, from: node.configuration.endpoint)
            {
                follow(redirect, command, error)
            } else if Self.refusedBeforeRunning.contains(code) {
                if code == "CLUSTERDOWN" { requestRefresh() }
                retryLater(command, error)
            } else if code == "READONLY" {
                // A demoted primary: find the new one (DNS, Sentinel or the slot map) and retry.
                node.dropConnection("the server is a replica now (READONLY)")
                requestRefresh()
                retryLater(command, error)
            } else {
                command.handler(result)
            }
        case .notSent where MonotonicClock.now() < command.deadline && !isShutDown:
            route(command)  // its node stopped serving the slot before sending it
        case .connectFailed, .connectionClosed, .timeout:
            requestRefresh()
            command.handler(result)
        default:
            command.handler(result)
        }
    }

    private func follow(_ redirect: ClusterRedirect, _ command: RedisRequest, _ error: RedisError) {
        var routing = command.routing ?? .init()
        guard routing.redirects < configuration.maxRedirects else {
            var failure = error
            failure.message = "gave up after \(routing.redirects) redirects; last: \(error.message)"
            return command.handler(.failure(failure))
        }
        redirects += 1
        routing.redirects += 1
        switch redirect {
        case .moved(let slot, let owner):
            becomeCluster()
            topology.assign(slot...slot, to: owner)
            routing.askTarget = nil
            requestRefresh()
        case .ask(_, let importing):
            routing.askTarget = importing
        }
        var next = command
        next.routing = routing
        route(next)
    }

    /// Sends `command` again after a pause that doubles per retry (5 ms … 100 ms), or fails it
    /// with `error` when its deadline comes first.
    private func retryLater(_ command: RedisRequest, _ error: RedisError) {
        var routing = command.routing ?? .init()
        let pause: UInt64 = min(5_000_000 << UInt64(min(routing.retries, 5)), 100_000_000)
        guard MonotonicClock.now() &+ pause < command.deadline, !isShutDown else {
            return command.handler(.failure(error))
        }
        routing.retries += 1
        routing.askTarget = nil
        var next = command
        next.routing = routing
        _ = loop.schedule(after: .nanoseconds(pause)) { [weak self] in self?.route(next) }
    }

    // MARK: - Cluster topology

    private func becomeCluster() {
        guard !isCluster else { return }
        isCluster = true
        nodes[configuration.endpoint] = defaultNode
        requestRefresh()
    }

    /// Reads the slot map soon: now, or when the last read is 100 ms old; a request during a
    /// read is merged into one more read after it.
    private func requestRefresh() {
        guard isCluster, !isShutDown else { return }
        if refreshing {
            refreshAgain = true
            return
        }
        guard refreshTimer == nil else { return }
        let earliest = lastRefreshStart &+ Self.minimumRefreshGap
        if lastRefreshStart != 0 && MonotonicClock.now() < earliest {
            refreshTimer = loop.schedule(atNanoseconds: earliest) { [unowned self] in
                refreshTimer = nil
                requestRefresh()
            }
        } else {
            refresh()
        }
    }

    private func refresh() {
        refreshing = true
        lastRefreshStart = MonotonicClock.now()
        if let periodicTimer { loop.cancel(periodicTimer) }
        periodicTimer = nil
        // Connected nodes first: a dead one would spend a whole deadline before the next is asked.
        var candidates = topology.primaries + configuration.seeds.filter { !topology.primaries.contains($0) }
        candidates.sort { (nodes[$0]?.isConnected ?? false) && !(nodes[$1]?.isConnected ?? false) }
        askForSlots(candidates, at: 0)
    }

    private func askForSlots(_ candidates: [HostAndPort], at index: Int) {
        guard index < candidates.count, !isShutDown else { return refreshFinished() }
        let endpoint = candidates[index]
        node(for: endpoint).send(["CLUSTER", "SLOTS"]) { [unowned self] result in
            if case .success(let reply) = result,
                let topology = try? ClusterTopology(slotsReply: reply, answeredBy: endpoint),
                !topology.primaries.isEmpty
            {
                apply(topology)
                refreshFinished()
            } else {
                askForSlots(candidates, at: index + 1)
            }
        }
    }

    private func refreshFinished() {
        refreshing = false
        guard !isShutDown else { return }
        periodicTimer = loop.schedule(after: configuration.topologyRefreshInterval) { [unowned self] in
            periodicTimer = nil
            requestRefresh()
        }
        if refreshAgain {
            refreshAgain = false
            requestRefresh()
        }
    }

    /// Takes a new slot map: commands still waiting on a node that no longer serves slots go
    /// to the new owners; such nodes close once the replies in flight have had time to arrive.
    private func apply(_ new: ClusterTopology) {
        topology = new
        for primary in new.primaries { _ = node(for: primary) }
        for (endpoint, node) in nodes where !new.primaries.contains(endpoint) && !retiring.contains(endpoint) {
            node.abandonWaiting("\(endpoint) serves no slots any more")
            guard node !== defaultNode && !configuration.seeds.contains(endpoint) else { continue }
            retiring.insert(endpoint)
            _ = loop.schedule(after: configuration.commandTimeout * 2) { [weak self] in
                guard let self else { return }
                retiring.remove(endpoint)
                guard !isShutDown, !topology.primaries.contains(endpoint), let node = nodes[endpoint] else { return }
                nodes[endpoint] = nil
                node.shutdown()
            }
        }
    }
}
