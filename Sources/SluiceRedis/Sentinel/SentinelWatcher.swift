import SluiceNet

/// Asks Redis Sentinels where the primary is, and hears when it moves.
///
/// Before every connection to the primary, the sentinels are asked in turn
/// (`SENTINEL get-master-addr-by-name`); the first answer wins. Each sentinel also has a
/// subscriber connection on `+switch-master`, so a failover moves the client at once instead
/// of at its next reconnect. Sentinels are reached without the data nodes' credentials.
final class SentinelWatcher {
    private let primaryName: String
    private let loop: EventLoop
    private let queries: [RedisNode]
    private let subscribers: [RedisNode]
    private let onSwitch: (HostAndPort) -> Void
    /// The last primary a sentinel named.
    private(set) var lastKnownPrimary: HostAndPort?

    /// A watcher for the sentinels in `configuration.seeds`; `onSwitch` hears each `+switch-master`.
    init(
        configuration: RedisConfiguration, primaryName: String, loop: EventLoop,
        onSwitch: @escaping (HostAndPort) -> Void
    ) {
        self.primaryName = primaryName
        self.loop = loop
        self.onSwitch = onSwitch
        let sentinels = configuration.seeds.map { endpoint in
            var sentinel = RedisConfiguration(endpoint: endpoint)
            sentinel.commandTimeout = configuration.commandTimeout
            sentinel.connectTimeout = configuration.connectTimeout
            sentinel.reconnectBackoff = configuration.reconnectBackoff
            return sentinel
        }
        queries = sentinels.map { RedisNode(configuration: $0, loop: loop) }
        subscribers = sentinels.map { RedisNode(configuration: $0, loop: loop) }
        for subscriber in subscribers {
            subscriber.onConnected = { [unowned subscriber] _ in
                subscriber.submit(
                    RedisRequest(
                        arguments: ["SUBSCRIBE", "+switch-master"], deadline: MonotonicClock.now() &+ 5_000_000_000,
                        handler: { _ in }))
                return true
            }
            subscriber.onPush = { [unowned self] message in heard(message) }
            // The first command makes the node connect; it stays connected (and re-subscribes) after that.
            loop.execute { subscriber.send(["PING"]) { _ in } }
        }
    }

    /// Asks the sentinels in turn; `completion` gets the first primary named, or — when none
    /// answers — the last one known (the caller's backoff paces the next attempt).
    func askForPrimary(_ completion: @escaping (HostAndPort) -> Void) {
        ask(at: 0, completion)
    }

    private func ask(at index: Int, _ completion: @escaping (HostAndPort) -> Void) {
        guard index < queries.count else {
            return completion(lastKnownPrimary ?? queries[0].configuration.endpoint)
        }
        queries[index].send(["SENTINEL", "get-master-addr-by-name", .string(primaryName)]) { [self] result in
            if case .success(.array(let fields)) = result, fields.count == 2, let host = fields[0].string,
                let port = fields[1].int
            {
                let primary = HostAndPort(host: host, port: Int(port))
                lastKnownPrimary = primary
                completion(primary)
            } else {
                ask(at: index + 1, completion)
            }
        }
    }

    /// `+switch-master <name> <old-ip> <old-port> <new-ip> <new-port>`.
    private func heard(_ message: RESPValue) {
        guard case .push(let fields) = message, fields.count == 3, fields[0].string == "message",
            fields[1].string == "+switch-master", let text = fields[2].string
        else { return }
        let words = text.split(separator: " ")
        guard words.count == 5, words[0] == primaryName, let port = Int(words[4]) else { return }
        let primary = HostAndPort(host: String(words[3]), port: port)
        lastKnownPrimary = primary
        onSwitch(primary)
    }

    func shutdown() {
        for node in queries + subscribers { node.shutdown() }
    }
}
