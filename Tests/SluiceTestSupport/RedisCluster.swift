import Foundation

/// A real Redis Cluster on loopback ports: `primaries` primaries with `replicasPerPrimary`
/// replicas each, created with `redis-cli --cluster create`, for integration tests.
///
/// ```swift
/// try await withRedisCluster(primaries: 3) { cluster in
///     let client = try RedisClient(url: cluster.servers[0].url)  // one address is enough
/// }
/// ```
public final class RedisCluster: @unchecked Sendable {
    /// Every node, primaries first as created.
    public let servers: [RedisServer]

    /// Starts the nodes, joins them into a cluster and waits until every node reports `cluster_state:ok`.
    public init(primaries: Int = 3, replicasPerPrimary: Int = 0) throws {
        let count = primaries * (1 + replicasPerPrimary)
        servers = try (0..<count).map { _ in
            try RedisServer([
                "--cluster-enabled", "yes", "--cluster-config-file", "nodes.conf", "--cluster-node-timeout", "1000",
                "--cluster-require-full-coverage", "no",
            ])
        }
        try RedisServer.runCLI(
            ["--cluster", "create"] + servers.map(\.address)
                + ["--cluster-replicas", String(replicasPerPrimary), "--cluster-yes"])
        try waitUntilHealthy()
    }

    /// `redis-cluster://` with every node as a seed.
    public var clusterURL: String { "redis-cluster://" + servers.map(\.address).joined(separator: ",") }

    /// Waits (up to 20 s) until every running node says `cluster_state:ok` and knows every slot,
    /// and every replica's link to its primary is up (a manual failover needs it).
    public func waitUntilHealthy(excluding stopped: Set<Int> = []) throws {
        let deadline = Date().addingTimeInterval(20)
        while true {
            let healthy = try servers.enumerated().filter { !stopped.contains($0.offset) }.allSatisfy { _, server in
                let info = try server.cli(["cluster", "info"])
                let replication = try server.cli(["info", "replication"])
                return info.contains("cluster_state:ok") && info.contains("cluster_slots_ok:16384")
                    && (replication.contains("role:master") || replication.contains("master_link_status:up"))
            }
            if healthy { return }
            guard Date() < deadline else { throw FixtureError("the cluster did not become healthy within 20 s") }
            usleep(50_000)
        }
    }

    /// The node ID of `server` (`CLUSTER MYID`).
    public func nodeID(_ server: RedisServer) throws -> String {
        try server.cli(["cluster", "myid"]).trimmingCharacters(in: .whitespacesAndNewlines)
    }

    /// The running nodes whose `ROLE` is `master` (`primary == true`) or `slave`.
    public func servers(primary: Bool) -> [RedisServer] {
        servers.filter { server in
            guard server.pid != nil, let role = try? server.cli(["role"]) else { return false }
            return role.hasPrefix(primary ? "master" : "slave")
        }
    }

    /// Stops every node.
    public func stop() {
        for server in servers { server.stop() }
    }
}

/// Starts a cluster for the duration of `body` and stops it afterwards, whatever happens.
public func withRedisCluster<T>(
    primaries: Int = 3, replicasPerPrimary: Int = 0, _ body: (RedisCluster) async throws -> T
) async throws -> T {
    let cluster = try await offPool { try RedisCluster(primaries: primaries, replicasPerPrimary: replicasPerPrimary) }
    defer { cluster.stop() }
    return try await body(cluster)
}
