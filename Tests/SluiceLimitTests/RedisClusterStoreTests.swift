import Foundation
import SluiceLimit
import SluiceRedis
import SluiceTestSupport
import Testing

/// The Redis store on a real 3-primary cluster: exact counts over keys in every slot range,
/// while slots move and while primaries fail over.
@Suite(.serialized) struct RedisClusterStoreTests {
    static let fivePerDay: [RateLimitPolicy] = [
        try! RateLimitPolicy(algorithm: .fixedWindow, limit: 5, window: .seconds(86_400)),
        try! RateLimitPolicy(algorithm: .slidingWindow, limit: 5, window: .seconds(86_400)),
        try! RateLimitPolicy(algorithm: .tokenBucket, limit: 5, window: .seconds(86_400), burst: 5),
    ]

    @Test func oneAddressThatIsAClusterCountsExactlyOverThousandsOfKeys() async throws {
        try await withRedisCluster(primaries: 3) { cluster in
            // A plain redis:// URL naming one node, as an ElastiCache configuration endpoint would be.
            let client = try RedisClient(url: cluster.servers[0].url)
            defer { client.shutdown() }
            let store = RedisStore(client: client)
            for policy in Self.fivePerDay {
                let limiter = RateLimiter(name: "exact-\(policy.algorithm)", policy: policy, store: store)
                // 2,000 keys × 7 checks, 7 per key in flight at once: exactly 5 of each 7 pass.
                let outcome = try await checkEach(keys: (0..<2_000).map { "user-\($0)" }, times: 7, with: limiter)
                #expect(outcome.failures == 0, "\(policy.algorithm): \(outcome.firstFailure ?? "")")
                #expect(outcome.allowedPerKey.allSatisfy { $0 == 5 }, "\(policy.algorithm)")
            }
            // Every primary holds keys, so the keys really spread over the slot map.
            for primary in cluster.servers {
                let size = Int(try primary.cli(["dbsize"]).trimmingCharacters(in: .whitespacesAndNewlines)) ?? 0
                #expect(size > 1_000, "\(primary.address) holds \(size) keys")
            }
            let routed = await onLoop(client) { $0.isCluster }
            #expect(routed, "the single address was detected as a cluster")
        }
    }

    @Test func movingSlotsUnderLoadLosesNoCheckAndKeepsCountsExact() async throws {
        try await withRedisCluster(primaries: 3) { cluster in
            let client = try RedisClient(url: cluster.clusterURL)
            defer { client.shutdown() }
            let store = RedisStore(client: client)
            let source = try cluster.nodeID(cluster.servers[0])
            let target = try cluster.nodeID(cluster.servers[1])
            // Reshard 1,500 slots while traffic runs (redis-cli migrates keys, so ASK and MOVED both occur).
            let reshard = Task {
                try await offPool {
                    try RedisServer.runCLI([
                        "--cluster", "reshard", cluster.servers[0].address, "--cluster-from", source, "--cluster-to",
                        target, "--cluster-slots", "1500", "--cluster-yes", "--cluster-pipeline", "10",
                    ])
                }
            }
            var rounds = 0
            for policy in Self.fivePerDay.shuffled() + Self.fivePerDay {
                rounds += 1
                let limiter = RateLimiter(name: "moving-\(rounds)", policy: policy, store: store)
                let outcome = try await checkEach(keys: (0..<1_500).map { "k\($0)" }, times: 7, with: limiter)
                #expect(outcome.failures == 0, "\(policy.algorithm): \(outcome.firstFailure ?? "")")
                #expect(outcome.allowedPerKey.allSatisfy { $0 == 5 }, "\(policy.algorithm)")
            }
            _ = try await reshard.value
            let redirects = await onLoop(client) { $0.redirects }
            #expect(redirects > 0, "the reshard ran while checks did")
        }
    }

    @Test func followsAManualFailoverAndAKilledPrimary() async throws {
        try await withRedisCluster(primaries: 3, replicasPerPrimary: 1) { cluster in
            var configuration = try RedisConfiguration(url: cluster.servers[0].url)
            configuration.commandTimeout = .milliseconds(300)
            let client = try RedisClient(configuration: configuration)
            defer { client.shutdown() }
            let limiter = RateLimiter(
                name: "failover",
                policy: try RateLimitPolicy(algorithm: .tokenBucket, limit: 1_000_000, window: .seconds(1)),
                store: RedisStore(client: client))
            let keys = (0..<300).map { "client-\($0)" }

            // Manual failover: coordinated, so the old primary answers MOVED and nothing fails.
            let replica = try #require(cluster.servers(primary: false).first)
            _ = try await offPool { try replica.cli(["cluster", "failover"]) }
            let manual = try await recoveryTime(limiter: limiter, keys: keys) { replica.isPrimary }
            #expect(manual.secondsAfterPromotion < 5, "\(manual)")

            // kill -9: the replica is promoted after the node timeout; decisions resume within 5 s of that.
            let victim = try #require(cluster.servers(primary: true).first)
            let victimID = try cluster.nodeID(victim)
            let heir = try #require(
                cluster.servers(primary: false).first {
                    (try? $0.cli(["role"]))?.contains(String(victim.port)) ?? false
                }, "a replica of \(victimID)")
            try await offPool { victim.stop() }
            let killed = try await recoveryTime(limiter: limiter, keys: keys) { heir.isPrimary }
            #expect(killed.secondsAfterPromotion < 5, "\(killed)")
            print("cluster failover recovery: manual \(manual), kill -9 \(killed)")
        }
    }
}

struct Recovery: CustomStringConvertible {
    /// From the promotion being seen to the first check after which none failed.
    var secondsAfterPromotion: Double
    /// From the fault (the start of the measurement) to the promotion being seen.
    var secondsToPromotion: Double
    var failures: Int
    /// How many rounds of checks (one per key each) ran.
    var rounds: Int
    var description: String {
        String(
            format: "promoted %.2f s after the fault, decisions resumed %.2f s after promotion, %d failed checks",
            secondsToPromotion, secondsAfterPromotion, failures)
    }
}

/// Runs checks over `keys` in a loop (bounded: 30 s) until `promoted()` has held for 2 s with
/// no failure; returns how long after the promotion the last failure was.
func recoveryTime(
    limiter: RateLimiter, keys: [String], promoted: @escaping @Sendable () -> Bool
) async throws -> Recovery {
    let start = Date()
    var promotedAt: Date?
    var lastFailure: Date?
    var failures = 0
    var rounds = 0
    while Date().timeIntervalSince(start) < 30 {
        rounds += 1
        let outcome = try await checkEach(keys: keys, times: 1, with: limiter)
        failures += outcome.failures
        if outcome.failures > 0 { lastFailure = Date() }
        if promotedAt == nil, try await offPool(promoted) { promotedAt = Date() }
        if let promotedAt, Date().timeIntervalSince(max(promotedAt, lastFailure ?? promotedAt)) > 2 { break }
    }
    let promotion = try #require(promotedAt, "the promotion never happened")
    let resumed = max(0, (lastFailure ?? promotion).timeIntervalSince(promotion))
    return Recovery(
        secondsAfterPromotion: resumed, secondsToPromotion: promotion.timeIntervalSince(start), failures: failures,
        rounds: rounds)
}

struct KeyOutcome {
    var allowedPerKey: [Int]
    var failures: Int
    var firstFailure: String?
}

/// Checks every key `times` times: 32 workers share the keys, and each key's checks run
/// concurrently with each other (so they race on the same counter).
func checkEach(keys: [String], times: Int, with limiter: RateLimiter) async throws -> KeyOutcome {
    let workers = 32
    let perWorker = try await withThrowingTaskGroup(of: KeyOutcome.self) { group in
        for worker in 0..<workers {
            group.addTask {
                var outcome = KeyOutcome(allowedPerKey: Array(repeating: 0, count: keys.count), failures: 0)
                for index in stride(from: worker, to: keys.count, by: workers) {
                    let results = await withTaskGroup(of: Result<Bool, RateLimitError>.self) { checks in
                        for _ in 0..<times {
                            checks.addTask {
                                do throws(RateLimitError) {
                                    return .success(try await limiter.check(key: keys[index]).allowed)
                                } catch {
                                    return .failure(error)
                                }
                            }
                        }
                        return await checks.reduce(into: []) { $0.append($1) }
                    }
                    for result in results {
                        switch result {
                        case .success(let allowed): if allowed { outcome.allowedPerKey[index] += 1 }
                        case .failure(let error):
                            outcome.failures += 1
                            outcome.firstFailure = outcome.firstFailure ?? error.description
                        }
                    }
                }
                return outcome
            }
        }
        return try await group.reduce(into: []) { $0.append($1) }
    }
    var total = KeyOutcome(allowedPerKey: Array(repeating: 0, count: keys.count), failures: 0)
    for part in perWorker {
        for index in keys.indices { total.allowedPerKey[index] += part.allowedPerKey[index] }
        total.failures += part.failures
        total.firstFailure = total.firstFailure ?? part.firstFailure
    }
    return total
}

/// Reads router state on the client's loop.
func onLoop<T: Sendable>(_ client: RedisClient, _ read: @escaping @Sendable (RedisRouter) -> T) async -> T {
    await withCheckedContinuation { continuation in
        client.withRouter { continuation.resume(returning: read($0)) }
    }
}

extension RedisServer {
    /// True when the server answers `ROLE` with `master`.
    var isPrimary: Bool { (try? cli(["role"]))?.hasPrefix("master") ?? false }
}
