import SluiceHTTP
import SluiceLimit
import SluiceNet
import SluiceRedis

/// A running Sluice: the event loops, the store, the HTTP listener and the admin listener,
/// wired from a ``ServerConfiguration``.
///
/// ```swift
/// var configuration = ServerConfiguration()
/// configuration.listen = HostAndPort(host: "127.0.0.1", port: 0)
/// configuration.admin = HostAndPort(host: "127.0.0.1", port: 0)
/// let app = try SluiceApp(configuration: configuration)
/// let (listen, admin) = try app.start()
/// // …
/// app.shutdown()
/// ```
public final class SluiceApp: Sendable {
    /// The configuration it was started with (rules may since have been reloaded).
    public let configuration: ServerConfiguration
    /// Counters behind `/metrics`.
    public let metrics: ServerMetrics
    private let group: EventLoopGroup
    private let store: any RateLimitStore
    /// Decides for rules whose store-failure policy is `local`; shared across reloads.
    private let localStore = MemoryStore()
    private let redis: RedisClient?
    private let server: HTTPServer
    private let adminServer: HTTPServer
    private let handler: ReloadableHandler
    private let upstream: UpstreamClient?

    /// Builds everything; nothing listens until ``start()``.
    public init(configuration: ServerConfiguration) throws {
        self.configuration = configuration
        let group = try EventLoopGroup(count: configuration.loops, name: "sluice")
        self.group = group
        if let url = configuration.upstream {
            upstream = try UpstreamClient(
                upstream: try Self.upstreamAddress(url), loops: group.loops,
                responseTimeout: configuration.upstreamTimeout)
        } else {
            upstream = nil
        }
        (store, redis) = try Self.makeStore(configuration, group: group)
        let box = ServerBox()
        metrics = ServerMetrics(openConnections: { box.server?.connectionCount ?? 0 })
        handler = ReloadableHandler(
            Self.limitingHandler(
                configuration, store: store, localStore: localStore, metrics: metrics, upstream: upstream),
            loops: group.loops)
        server = HTTPServer(settings: configuration.http, group: group, handler: handler)
        box.server = server
        let redis = redis
        adminServer = HTTPServer(
            settings: HTTPServerSettings(), group: group,
            handler: AdminHandler(metrics: metrics) { [handler] loop, answer in
                guard let redis else { return answer(.ready) }
                redis.router(on: loop).send(["PING"], timeout: Self.readinessStoreTimeout) { result in
                    if case .success = result { return answer(.ready) }
                    let rules = (handler.current(on: loop) as? LimitingHandler)?.rules ?? []
                    // A shadow rule never turns a request away, whatever its policy.
                    if let denying = rules.first(where: { $0.onStoreFailure == .deny && !$0.shadow }) {
                        answer(.unready("store unreachable and rule \(denying.name) denies without it"))
                    } else {
                        answer(.degraded("store unreachable; rules decide by their onStoreFailure policy"))
                    }
                }
            })
    }

    /// How long `/readyz` waits for the store's `PONG`. Well inside a Kubernetes probe's default
    /// one-second timeout, so an unreachable store reads as "degraded" rather than a probe that
    /// timed out (which would take every instance out of service while its rules still serve).
    static let readinessStoreTimeout = Duration.milliseconds(400)

    /// Client connections open now.
    public var openConnections: Int { server.connectionCount }

    /// Starts listening; returns the bound addresses (real ports when 0 was asked).
    public func start() throws -> (listen: SocketAddress, admin: SocketAddress) {
        let listen = try server.start(on: try Self.resolve(configuration.listen))
        let admin = try adminServer.start(on: try Self.resolve(configuration.admin))
        if let redis {
            // Connect every loop now, so the first requests do not spend their budget connecting.
            for loop in group.loops { loop.execute { redis.router(on: loop).send(["PING"]) { _ in } } }
        }
        return (listen, admin)
    }

    /// Replaces the rules (SIGHUP): rules, trusted proxies, header style and the target answer
    /// change; listeners, store, upstream and server limits stay as started.
    public func reload(_ new: ServerConfiguration) {
        handler.replace(
            with: Self.limitingHandler(new, store: store, localStore: localStore, metrics: metrics, upstream: upstream))
    }

    /// Stops accepting, lets requests in flight finish, closes the store, stops the loops.
    public func shutdown() {
        server.shutdown()
        adminServer.shutdown()
        if let upstream {
            for loop in group.loops { loop.execute { upstream.closeIdle(on: loop) } }
        }
        redis?.shutdown()
        group.shutdown()
    }

    private static func limitingHandler(
        _ configuration: ServerConfiguration, store: any RateLimitStore, localStore: MemoryStore,
        metrics: ServerMetrics, upstream: UpstreamClient?
    ) -> LimitingHandler {
        let allowed: any HTTPRequestHandler =
            upstream.map { ProxyHandler(client: $0) } ?? TargetHandler(target: configuration.target)
        return LimitingHandler(
            configuration: configuration, store: store, localStore: localStore, metrics: metrics, allowedAnswer: allowed
        )
    }

    /// Checks what ``init(configuration:)`` would refuse, without starting or resolving anything
    /// (`sluice --check`): the upstream URL and the store URL.
    public static func check(_ configuration: ServerConfiguration) throws(ConfigurationError) {
        if let url = configuration.upstream { _ = try upstreamAddress(url) }
        _ = try storeConfiguration(configuration.store)
    }

    /// `http://host:port` (a path or `https` is refused: Sluice forwards to one plain-HTTP origin).
    static func upstreamAddress(_ url: String) throws(ConfigurationError) -> HostAndPort {
        guard url.hasPrefix("http://") else {
            throw ConfigurationError(
                field: "upstream", message: "\"\(url)\" must be http://host:port (TLS is not supported)")
        }
        var rest = url.dropFirst("http://".count)
        if rest.hasSuffix("/") { rest = rest.dropLast() }
        guard !rest.contains("/") else {
            throw ConfigurationError(field: "upstream", message: "\"\(url)\": no path, only http://host:port")
        }
        do { return try HostAndPort(parsing: String(rest), defaultPort: 80) } catch {
            throw ConfigurationError(field: "upstream", message: error.description)
        }
    }

    private static func makeStore(
        _ configuration: ServerConfiguration, group: EventLoopGroup
    ) throws -> (any RateLimitStore, RedisClient?) {
        guard let redisConfiguration = try storeConfiguration(configuration.store) else { return (MemoryStore(), nil) }
        let client = try RedisClient(configuration: redisConfiguration, group: group)
        let store = RedisStore(client: client, budget: configuration.storeBudget)
        return (configuration.overLimitCache ? OverLimitCache(store) : store, client)
    }

    /// The Redis configuration of a store URL; nil for `memory`.
    private static func storeConfiguration(_ url: String) throws(ConfigurationError) -> RedisConfiguration? {
        if url == "memory" { return nil }
        do { return try RedisConfiguration(url: url) } catch {
            throw ConfigurationError(field: "store", message: error.description)
        }
    }

    private static func resolve(_ target: HostAndPort) throws -> SocketAddress {
        guard let address = try Resolver.resolve(target).first else {
            throw ConfigurationError(field: "listen", message: "\(target) has no address")
        }
        return address
    }
}

/// Lets the metrics read the server's connection count although the server is made after them.
private final class ServerBox: @unchecked Sendable {
    // Written once during SluiceApp.init, before any loop reads it.
    var server: HTTPServer?
}
