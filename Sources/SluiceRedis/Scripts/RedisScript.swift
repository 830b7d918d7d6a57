/// A Lua script with its SHA-1, ready for `EVALSHA`.
///
/// Connections remember which scripts they have loaded; a script is sent once with
/// `SCRIPT LOAD` and afterwards only its SHA travels. When the server has forgotten it
/// (`NOSCRIPT`, after `SCRIPT FLUSH`, a restart or a failover) it is loaded again and the
/// call retried once — safe, because a `NOSCRIPT` reply means nothing ran.
///
/// ```swift
/// let script = RedisScript("return redis.call('INCRBY', KEYS[1], ARGV[1])")
/// let total = try await client.evalScript(script, keys: ["hits"], arguments: ["5"])
/// ```
public struct RedisScript: Sendable, Hashable {
    /// The Lua source.
    public let source: String
    /// The lowercase hex SHA-1 of the source, as `SCRIPT LOAD` returns it.
    public let sha1: String

    /// Wraps `source` and computes its SHA-1.
    public init(_ source: String) {
        self.source = source
        self.sha1 = SHA1.hexDigest(source.utf8)
    }
}
