import SluiceHTTP
import SluiceLimit
import SluiceNet

/// Everything the server needs to run: where it listens, which store, which rules, how it answers.
/// Built from defaults, then a config file, then flags (later ones win).
///
/// ```swift
/// var configuration = ServerConfiguration()
/// configuration.listen = HostAndPort(host: "127.0.0.1", port: 0)
/// configuration.rules = [ServerConfiguration.defaultRule]
/// ```
public struct ServerConfiguration: Sendable {
    /// Where HTTP clients connect.
    public var listen = HostAndPort(host: "0.0.0.0", port: 8080)
    /// Where `/metrics`, `/healthz` and `/readyz` are served.
    public var admin = HostAndPort(host: "127.0.0.1", port: 9090)
    /// `memory`, or a `redis://`, `redis-cluster://` or `redis-sentinel://` URL.
    public var store = "memory"
    /// How long a rule's check may wait for the store before its ``Rule/onStoreFailure`` decides.
    public var storeBudget: Duration = .milliseconds(50)
    /// Deny keys that Redis just denied locally until their `Retry-After` passes (see ``OverLimitCache``).
    public var overLimitCache = false
    /// The API to forward allowed requests to (proxy mode); nil answers locally (target mode).
    public var upstream: String?
    /// How long the upstream may take to start answering before the client gets 504.
    public var upstreamTimeout: Duration = .seconds(30)
    /// The rules, checked in order; every matching rule applies.
    public var rules: [Rule] = [ServerConfiguration.defaultRule]
    /// How the client address is found (trusted proxies, IPv6 grouping).
    public var clientAddresses = ClientAddressResolver()
    /// How rate-limit headers are written.
    public var headerStyle = RateLimitHeaderStyle()
    /// What target mode answers to an allowed request.
    public var target = TargetResponse()
    /// Event loops (threads); one per core by default.
    public var loops = EventLoopGroup.activeProcessorCount
    /// HTTP limits and timeouts.
    public var http = HTTPServerSettings()

    /// A configuration with every default.
    public init() {}

    /// The rule used when none is configured: 100 requests per minute per client IP, fixed window.
    public static let defaultRule = Rule(
        name: "default", policy: try! RateLimitPolicy(algorithm: .fixedWindow, limit: 100, window: .seconds(60)))
}

/// The answer target mode gives to an allowed request.
public struct TargetResponse: Sendable, Hashable {
    /// The status code.
    public var status = 200
    /// The body.
    public var body = "OK\n"
    /// The `Content-Type`.
    public var contentType = "text/plain; charset=utf-8"

    /// The defaults: `200 OK`.
    public init() {}
}
