import Foundation
import SluiceNet

/// How to reach one Redis node and how patiently: address, credentials, database, timeouts.
///
/// ```swift
/// var configuration = try RedisConfiguration(url: "redis://app:secret@127.0.0.1:6379/2")
/// configuration.commandTimeout = .milliseconds(250)
/// let client = try RedisClient(configuration: configuration)
/// ```
public struct RedisConfiguration: Sendable {
    /// The server's host name or address, and port.
    public var endpoint: HostAndPort
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
    }

    /// Parses `redis://[user:password@]host[:port][/db]`. User and password may be percent-encoded.
    public init(url: String) throws(RedisConfigurationError) {
        let prefix = "redis://"
        guard url.hasPrefix(prefix) else {
            throw RedisConfigurationError(url: url, reason: "expected a URL starting with redis://")
        }
        var rest = Substring(url.dropFirst(prefix.count))
        if let query = rest.firstIndex(of: "?") { rest = rest[..<query] }
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
            endpoint = try HostAndPort(parsing: String(rest), defaultPort: 6379)
        } catch {
            throw RedisConfigurationError(url: url, reason: error.description)
        }
        self.username = username
        self.password = password
        if !path.isEmpty {
            guard let database = Int(path), database >= 0 else {
                throw RedisConfigurationError(url: url, reason: "database \"\(path)\" is not a number")
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
