import Foundation

/// A primary, one replica and three sentinels watching them as `mymaster`, on loopback ports.
///
/// ```swift
/// try await withRedisSentinelGroup { group in
///     let client = try RedisClient(url: group.sentinelURL)
/// }
/// ```
public final class RedisSentinelGroup: @unchecked Sendable {
    /// The name the sentinels know the primary by.
    public let primaryName = "mymaster"
    /// The primary at start.
    public let primary: RedisServer
    /// The replica at start.
    public let replica: RedisServer
    /// The three sentinels.
    public let sentinels: [RedisServer]

    /// Starts everything and waits until every sentinel knows the primary and its replica.
    public init() throws {
        primary = try RedisServer()
        replica = try RedisServer(["--replicaof", "127.0.0.1", String(primary.port)])
        let configuration = """
            sentinel monitor \(primaryName) 127.0.0.1 \(primary.port) 2
            sentinel down-after-milliseconds \(primaryName) 1000
            sentinel failover-timeout \(primaryName) 5000
            sentinel parallel-syncs \(primaryName) 1
            """
        sentinels = try (0..<3).map { _ in try RedisServer(sentinelConfiguration: configuration) }
        let deadline = Date().addingTimeInterval(20)
        while true {
            let ready = try sentinels.allSatisfy { sentinel in
                let replicas = try sentinel.cli(["sentinel", "replicas", primaryName])
                let peers = try sentinel.cli(["sentinel", "sentinels", primaryName])
                return replicas.contains(String(replica.port))
                    && peers.split(separator: "\n").filter { $0 == "name" }.count >= 2
            }
            if ready { return }
            guard Date() < deadline else {
                throw FixtureError("the sentinels did not find the replica and each other within 20 s")
            }
            usleep(100_000)
        }
    }

    /// `redis-sentinel://` naming the three sentinels and the primary.
    public var sentinelURL: String {
        "redis-sentinel://" + sentinels.map(\.address).joined(separator: ",") + "/" + primaryName
    }

    /// The port of the primary according to the first sentinel.
    public func currentPrimaryPort() throws -> Int? {
        let lines = try sentinels[0].cli(["sentinel", "get-master-addr-by-name", primaryName]).split(separator: "\n")
        return lines.count >= 2 ? Int(lines[1]) : nil
    }

    /// Stops everything.
    public func stop() {
        for server in sentinels + [replica, primary] { server.stop() }
    }
}

/// Starts a sentinel group for the duration of `body` and stops it afterwards, whatever happens.
public func withRedisSentinelGroup<T>(_ body: (RedisSentinelGroup) async throws -> T) async throws -> T {
    let group = try await offPool { try RedisSentinelGroup() }
    defer { group.stop() }
    return try await body(group)
}
