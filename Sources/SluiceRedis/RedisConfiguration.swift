import Foundation
import SluiceNet

/// How to reach Redis and how patiently: addresses, deployment, credentials, database, timeouts.
///
/// ```swift
/// var configuration = try RedisConfiguration(url: "redis://app:secret@127.0.0.1:6379/2")
/// configuration.commandTimeout = .milliseconds(250)
/// let client = try RedisClient(configuration: configuration)
/// ```
///
/// Three URL schemes:
/// - `redis://[user:password@]host[:port][/db]` — one address; when it turns out to be a
///   cluster node (or a cloud *configuration endpoint*), it is served as a cluster;
/// - `redis-cluster://[user:password@]host:port,host:port` — cluster seed nodes;
/// - `redis-sentinel://[user:password@]host:port,host:port/primary-name[?db=N]` — the
///   sentinels and the name of the primary they watch (`?master=name` works too). The
///   credentials are for the data nodes; sentinels are asked without them.
public struct RedisConfiguration: Sendable {
    /// How the servers behind the URL are arranged.
    public enum Deployment: Sendable, Hashable {
        /// One address: a standalone server, or a cluster reached through one address.
        case single
        /// Seeds of a Redis Cluster.
        case cluster
        /// Sentinels watching the primary with this name.
        case sentinel(primaryName: String)
    }

    /// The server's host name or address, and port (for Sentinel, the current primary once known).
    public var endpoint: HostAndPort
    /// Every address the URL names: the one node, the cluster seeds, or the sentinels.
    public var seeds: [HostAndPort]
    /// How the servers are arranged.
    public var deployment: Deployment = .single
    /// A cluster's slot map is read again this often, and after redirects and failures.
    public var topologyRefreshInterval: Duration = .seconds(5)
    /// How many `MOVED`/`ASK` redirects one command may follow.
    public var maxRedirects = 5
    /// The ACL user name, or nil for the default user.
    public var username: String?
    /// The password, or nil when the server needs none.
    public var password: String?
    /// The database number selected after connecting.
    public var database: Int = 0
    /// The name shown by `CLIENT LIST`.
    public var clientName: String? = "sluice"
    /// How long a command may wait for its reply (including time spent waiting for a connection).
    public var commandTimeout: Duration = .seconds(1)
    /// How long connecting and the handshake may take.
    public var connectTimeout: Duration = .seconds(2)
    /// An idle connection is checked with `PING` this often.
    public var heartbeatInterval: Duration = .seconds(1)
    /// Unacknowledged data older than this kills the connection (`TCP_USER_TIMEOUT`).
    public var tcpUserTimeout: Duration = .seconds(5)
    /// Delays between reconnect attempts.
    public var reconnectBackoff = Backoff(base: .milliseconds(20), maximum: .seconds(1))
    /// How many commands may wait for a connection before new ones are refused.
    public var maxQueuedCommands = 100_000

    /// A configuration for `endpoint` with default settings.
    public init(endpoint: HostAndPort) {
        self.endpoint = endpoint
        self.seeds = [endpoint]
    }

    /// Parses a `redis://`, `redis-cluster://` or `redis-sentinel://` URL (see the type's
    /// description). User and password may be percent-encoded.
    public init(url: String) throws(RedisConfigurationError) {
        let schemes: [(String, Deployment)] = [
            ("redis://", .single), ("redis-cluster://", .cluster), ("redis-sentinel://", .sentinel(primaryName: "")),
        ]
        guard let (prefix, deployment) = schemes.first(where: { url.hasPrefix($0.0) }) else {
            throw RedisConfigurationError(
                url: url, reason: "expected a URL starting with redis://, redis-cluster:// or redis-sentinel://")
        }
        var rest = Substring(url.dropFirst(prefix.count))
        var query: [Substring: Substring] = [:]
        if let mark = rest.firstIndex(of: "?") {
            for pair in rest[rest.index(after: mark)...].split(separator: "&") {
                let parts = pair.split(separator: "=", maxSplits: 1)
                query[parts[0]] = parts.count == 2 ? parts[1] : ""
            }
            rest = rest[..<mark]
        }
        var path: Substring = ""
        if let slash = rest.firstIndex(of: "/") {
            path = rest[rest.index(after: slash)...]
            rest = rest[..<slash]
        }
        var username: String?
        var password: String?
        if let at = rest.lastIndex(of: "@") {
            let credentials = rest[..<at]
            rest = rest[rest.index(after: at)...]
            if let colon = credentials.firstIndex(of: ":") {
                username = Self.decode(credentials[..<colon])
                password = Self.decode(credentials[credentials.index(after: colon)...])
            } else {
                password = Self.decode(credentials)
            }
            if username?.isEmpty == true { username = nil }
        }
        do {
            let defaultPort = deployment == .sentinel(primaryName: "") ? 26379 : 6379
            seeds = try rest.split(separator: ",", omittingEmptySubsequences: false).map {
                (host) throws(AddressError) in try HostAndPort(parsing: String(host), defaultPort: defaultPort)
            }
        } catch {
            throw RedisConfigurationError(url: url, reason: error.description)
        }
        endpoint = seeds[0]
        self.username = username
        self.password = password
        var databaseText = path
        switch deployment {
        case .single:
            guard seeds.count == 1 else {
                throw RedisConfigurationError(
                    url: url, reason: "redis:// takes one address; use redis-cluster:// for several seeds")
            }
            self.deployment = .single
        case .cluster:
            guard path.isEmpty else {
                throw RedisConfigurationError(url: url, reason: "a cluster has only database 0; remove \"/\(path)\"")
            }
            self.deployment = .cluster
        case .sentinel:
            let name = query["master"] ?? path
            guard !name.isEmpty else {
                throw RedisConfigurationError(
                    url: url, reason: "name the primary: redis-sentinel://host:26379/mymaster or ?master=mymaster")
            }
            self.deployment = .sentinel(primaryName: String(name))
            databaseText = query["db"] ?? ""
        }
        if !databaseText.isEmpty {
            guard let database = Int(databaseText), database >= 0 else {
                throw RedisConfigurationError(url: url, reason: "database \"\(databaseText)\" is not a number")
            }
            self.database = database
        }
    }

    /// The configuration in `REDIS_URL`, or nil when it is not set.
    public static func fromEnvironment() throws(RedisConfigurationError) -> RedisConfiguration? {
        guard let url = ProcessInfo.processInfo.environment["REDIS_URL"], !url.isEmpty else { return nil }
        return try RedisConfiguration(url: url)
    }

    /// `url` with any password replaced by `***`, for logs and messages.
    public static func redacted(_ url: String) -> String {
        guard let at = url.lastIndex(of: "@"), let scheme = url.range(of: "://"),
            let colon = url[scheme.upperBound..<at].firstIndex(of: ":")
        else { return url }
        return url[..<url.index(after: colon)] + "***" + url[at...]
    }

    private static func decode(_ text: Substring) -> String {
        String(text).removingPercentEncoding ?? String(text)
    }
}

/// A Redis URL or setting that cannot be used.
public struct RedisConfigurationError: Error, Sendable, Hashable, CustomStringConvertible {
    /// The URL as given, with any password replaced by `***`.
    public var url: String
    /// What is wrong with it.
    public var reason: String

    /// Creates an error, hiding the password in `url`.
    public init(url: String, reason: String) {
        self.url = RedisConfiguration.redacted(url)
        self.reason = reason
    }

    /// A one-line message naming the URL.
    public var description: String { "invalid Redis URL \"\(url)\": \(reason)" }
}
