import Foundation
import SluiceLimit
import SluiceRedis
import SluiceTestSupport
import Testing

/// The Redis store through Sentinel: a primary, a replica and three sentinels, all real.
@Suite(.serialized) struct RedisSentinelStoreTests {
    @Test func findsThePrimaryAndFollowsAFailoverWithoutCountingTwice() async throws {
        try await withRedisSentinelGroup { group in
            var configuration = try RedisConfiguration(url: group.sentinelURL)
            configuration.commandTimeout = .milliseconds(300)
            let client = try RedisClient(configuration: configuration)
            defer { client.shutdown() }
            let limiter = RateLimiter(
                name: "sentinel",
                policy: try RateLimitPolicy(algorithm: .fixedWindow, limit: 1_000_000, window: .seconds(86_400)),
                store: RedisStore(client: client))
            let keys = (0..<200).map { "client-\($0)" }

            let before = try await checkEach(keys: keys, times: 3, with: limiter)
            #expect(before.failures == 0, "\(before.firstFailure ?? "")")
            #expect(try group.primary.cli(["dbsize"]).hasPrefix("200"), "the counts live on the primary")

            let oldPort = group.primary.port
            try await offPool { group.primary.stop() }
            let recovery = try await recoveryTime(limiter: limiter, keys: keys) {
                (try? group.currentPrimaryPort()).flatMap { $0 } == group.replica.port
            }
            #expect(recovery.secondsAfterPromotion < 5, "\(recovery)")
            #expect(try group.currentPrimaryPort() != oldPort)
            print("sentinel failover recovery: \(recovery)")

            // No double count: no counter exceeds the checks sent for its key (3 before, and one
            // per round after; a replayed INCRBY would push one over).
            let attemptsAfter = try await checkEach(keys: keys, times: 1, with: limiter)
            #expect(attemptsAfter.failures == 0)
            let counters = try group.replica.cli(["--scan", "--pattern", "sluice:*"]).split(separator: "\n")
            #expect(counters.count == keys.count, "one counter per key on the new primary")
            let largest = try counters.map { Int(try group.replica.cli(["get", String($0)]).trimmed) ?? 0 }.max() ?? 0
            let rounds = 3 + recovery.rounds + 1
            #expect(largest <= rounds, "a counter reached \(largest) after \(rounds) checks of its key")
        }
    }
}

extension RedisSentinelStoreTests {
    @Test func switchMasterMovesTheConnectionWithoutAnyTraffic() async throws {
        try await withRedisSentinelGroup { group in
            let client = try RedisClient(url: group.sentinelURL)
            defer { client.shutdown() }
            try await client.send("SET", "before", "1")
            _ = try await offPool { try group.sentinels[0].cli(["sentinel", "failover", group.primaryName]) }
            // No command is sent from here on: the +switch-master message moves the client, within
            // seconds of the switch (without it, the client waits for its old connection to break).
            for _ in 0..<200 where try await offPool({ try group.currentPrimaryPort() }) != group.replica.port {
                try await Task.sleep(for: .milliseconds(100))
            }
            var connected = false
            let deadline = Date().addingTimeInterval(3)
            while !connected && Date() < deadline {
                try await Task.sleep(for: .milliseconds(100))
                connected = try await offPool { try group.replica.cli(["client", "list"]) }.contains("name=sluice")
            }
            #expect(connected, "the client opened a connection to the promoted replica by itself")
            // Writes now land on the new primary (a forced failover may drop the last unreplicated write).
            try await client.send("SET", "after", "2")
            #expect(try group.replica.cli(["get", "after"]).trimmed == "2")
        }
    }
}

extension String {
    var trimmed: String { trimmingCharacters(in: .whitespacesAndNewlines) }
}
