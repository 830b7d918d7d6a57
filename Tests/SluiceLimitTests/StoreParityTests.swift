import SluiceLimit
import SluiceRedis
import SluiceTestSupport
import Testing

/// One table of cases, two stores: the memory store and the Redis store (on the client's clock,
/// so the test drives time) must give the same decisions, field for field, and take back the same
/// on a refund.
@Suite struct StoreParityTests {
    /// Keys expire in real time while this test drives a manual clock: a long grace keeps a slow
    /// machine's real seconds from expiring keys the manual clock still needs. Decisions never
    /// depend on it.
    private static let grace = Duration.seconds(3_600)

    /// A window-aligned start, in Unix milliseconds.
    private static let start: Int64 = 1_700_000_000_000 - 1_700_000_000_000 % 3_600_000

    /// A step: wait `advance` ms, then check with `cost`; the decision expected of both stores.
    struct Step: Sendable, CustomStringConvertible {
        var advance: Int64
        var cost: Int
        var expected: Decision
        var description: String { "+\(advance)ms cost \(cost)" }
    }

    struct Scenario: Sendable, CustomTestStringConvertible {
        var name: String
        var policy: RateLimitPolicy
        var steps: [Step]
        var testDescription: String { name }
    }

    private static func step(
        _ advance: Int64, cost: Int = 1, allowed: Bool, limit: Int, remaining: Int, reset: Int64, retry: Int64 = 0
    ) -> Step {
        Step(
            advance: advance, cost: cost,
            expected: Decision(
                allowed: allowed, limit: limit, remaining: remaining, resetAfter: .milliseconds(reset),
                retryAfter: .milliseconds(retry)))
    }

    static let scenarios: [Scenario] = [
        Scenario(
            name: "fixed window: 3 per second across a boundary, cost above what remains",
            policy: try! RateLimitPolicy(algorithm: .fixedWindow, limit: 3, window: .seconds(1)),
            steps: [
                step(0, allowed: true, limit: 3, remaining: 2, reset: 1_000),
                step(100, cost: 2, allowed: true, limit: 3, remaining: 0, reset: 900),
                step(899, allowed: false, limit: 3, remaining: 0, reset: 1, retry: 1),  // last ms of the window
                step(1, allowed: true, limit: 3, remaining: 2, reset: 1_000),  // first ms of the next
                step(10, cost: 3, allowed: false, limit: 3, remaining: 2, reset: 990, retry: 990),
                step(0, cost: 2, allowed: true, limit: 3, remaining: 0, reset: 990),
                step(5_000, cost: 4, allowed: false, limit: 3, remaining: 3, reset: 0, retry: 0),  // never fits
            ]),
        Scenario(
            name: "sliding window: 3 per second, entries expire one by one",
            policy: try! RateLimitPolicy(algorithm: .slidingWindow, limit: 3, window: .seconds(1)),
            steps: [
                step(0, allowed: true, limit: 3, remaining: 2, reset: 1_000),
                step(300, allowed: true, limit: 3, remaining: 1, reset: 1_000),
                step(300, allowed: true, limit: 3, remaining: 0, reset: 1_000),
                step(100, allowed: false, limit: 3, remaining: 0, reset: 900, retry: 300),
                step(299, allowed: false, limit: 3, remaining: 0, reset: 601, retry: 1),
                step(1, allowed: true, limit: 3, remaining: 0, reset: 1_000),  // the first entry just left
                step(0, cost: 2, allowed: false, limit: 3, remaining: 0, reset: 1_000, retry: 600),
                step(2_000, cost: 2, allowed: true, limit: 3, remaining: 1, reset: 1_000),
            ]),
        Scenario(
            name: "token bucket: burst 4, 2 per second, fractions kept",
            policy: try! RateLimitPolicy(algorithm: .tokenBucket, limit: 2, window: .seconds(1), burst: 4),
            steps: [
                step(0, cost: 4, allowed: true, limit: 4, remaining: 0, reset: 2_000),
                step(0, allowed: false, limit: 4, remaining: 0, reset: 2_000, retry: 500),
                step(250, allowed: false, limit: 4, remaining: 0, reset: 1_750, retry: 250),
                step(250, allowed: true, limit: 4, remaining: 0, reset: 2_000),
                step(700, allowed: true, limit: 4, remaining: 0, reset: 1_800),  // 1.4 tokens, 0.4 kept
                step(0, allowed: false, limit: 4, remaining: 0, reset: 1_800, retry: 300),
                step(60_000, cost: 5, allowed: false, limit: 4, remaining: 4, reset: 0, retry: 0),  // above burst
            ]),
    ]

    /// Runs `body` on the memory store, then on a Redis store on a fresh server, each on one
    /// manual clock set back to ``start`` first.
    private static func onBothStores(
        _ body: (_ name: String, _ store: any RateLimitStore, _ time: ManualTimeSource) async throws -> Void
    ) async throws {
        try await withRedisServer { server in
            let client = try RedisClient(url: server.url)
            defer { client.shutdown() }
            let time = ManualTimeSource(milliseconds: start)
            let stores: [(String, any RateLimitStore)] = [
                ("memory", MemoryStore(timeSource: time)),
                ("redis", RedisStore(client: client, clock: .client, expiryGrace: grace, timeSource: time)),
            ]
            for (name, store) in stores {
                time.set(milliseconds: start)
                try await body(name, store, time)
            }
        }
    }

    @Test(arguments: scenarios)
    func bothStoresFollowTheTable(scenario: Scenario) async throws {
        try await Self.onBothStores { name, store, time in
            for (index, step) in scenario.steps.enumerated() {
                time.advance(by: .milliseconds(step.advance))
                let decision = try await store.check(policy: scenario.policy, key: "parity:{k}", cost: step.cost)
                var expected = step.expected
                expected.countedAt = expected.allowed ? time.nowMilliseconds() : nil
                #expect(decision == expected, "\(name) store, step \(index) (\(step))")
            }
        }
    }

    /// A refund gives back exactly what an allowed check took: on Redis even when denied cost-1
    /// fixed-window checks have pushed the counter past the limit, and never into a later window.
    @Test(arguments: RateLimitAlgorithm.allCases)
    func aRefundGivesBackWhatTheCheckTook(algorithm: RateLimitAlgorithm) async throws {
        try await Self.onBothStores { name, store, time in
            let limiter = try RateLimiter(
                name: "refund", algorithm: algorithm, limit: 3, window: .seconds(3_600),
                burst: algorithm == .tokenBucket ? 3 : nil, store: store)
            var allowed: [Decision] = []
            for _ in 0..<3 {
                time.advance(by: .milliseconds(10))
                allowed.append(try await limiter.check(key: "client"))
            }
            let denied = try await limiter.check(key: "client")
            _ = try await limiter.check(key: "client")
            #expect(allowed.allSatisfy(\.allowed) && !denied.allowed, "\(name)")
            #expect(denied.countedAt == nil, "\(name): a denial took nothing to give back")

            try await limiter.refund(denied, key: "client")
            #expect(try await !limiter.check(key: "client").allowed, "\(name): refunding a denial gives nothing")
            // The bucket takes a refund only while the refunded take is its last change.
            try await limiter.refund(allowed[algorithm == .tokenBucket ? 2 : 1], key: "client")
            let afterRefund = try await limiter.check(key: "client")
            #expect(afterRefund.allowed && afterRefund.remaining == 0, "\(name): \(afterRefund)")
            #expect(try await !limiter.check(key: "client").allowed, "\(name): exactly one unit came back")
        }
    }

    /// A clock behind the log's newest run (another instance's, on `.client` time) records its
    /// units at that run's time, so they stay as long as the run does: stricter, never looser.
    @Test func aSlidingWindowCheckBehindTheNewestRunJoinsIt() async throws {
        let policy = try RateLimitPolicy(algorithm: .slidingWindow, limit: 3, window: .seconds(1))
        try await Self.onBothStores { name, store, time in
            let ahead = try await store.check(policy: policy, key: "behind:{k}", cost: 1)
            time.set(milliseconds: Self.start - 100)
            let behind = try await store.check(policy: policy, key: "behind:{k}", cost: 1)
            #expect(ahead.countedAt == Self.start && behind.countedAt == Self.start, "\(name): \(behind)")
            #expect(behind.remaining == 1 && behind.resetAfter == .milliseconds(1_100), "\(name): \(behind)")
            try await store.refund(policy: policy, key: "behind:{k}", cost: 1, countedAt: Self.start)
            let afterRefund = try await store.check(policy: policy, key: "behind:{k}", cost: 2)
            #expect(afterRefund.allowed && afterRefund.remaining == 0, "\(name): \(afterRefund)")
            time.set(milliseconds: Self.start + 999)
            let stillCounted = try await store.check(policy: policy, key: "behind:{k}", cost: 1)
            #expect(!stillCounted.allowed && stillCounted.retryAfter == .milliseconds(1), "\(name): \(stillCounted)")
            time.set(milliseconds: Self.start + 1_000)
            let expired = try await store.check(policy: policy, key: "behind:{k}", cost: 1)
            #expect(expired.allowed && expired.remaining == 2, "\(name): \(expired)")
        }
    }

    @Test func aFixedWindowRefundNeverReachesALaterWindow() async throws {
        try await Self.onBothStores { name, store, time in
            let limiter = try RateLimiter(
                name: "late", algorithm: .fixedWindow, limit: 3, window: .seconds(1), store: store)
            let old = try await limiter.check(key: "client")
            time.advance(by: .seconds(1))
            _ = try await limiter.check(key: "client")
            try await limiter.refund(old, key: "client")
            let next = try await limiter.check(key: "client")
            #expect(next.remaining == 1, "\(name): the new window's two units stay counted, got \(next)")
        }
    }

    @Test(arguments: RateLimitAlgorithm.allCases)
    func randomArrivalsGetTheSameDecisionsFromBothStores(algorithm: RateLimitAlgorithm) async throws {
        try await withRedisServer { server in
            let client = try RedisClient(url: server.url)
            defer { client.shutdown() }
            let policy = try RateLimitPolicy(
                algorithm: algorithm, limit: 10, window: .milliseconds(500), burst: algorithm == .tokenBucket ? 15 : nil
            )
            let time = ManualTimeSource(milliseconds: Self.start)
            let memory = MemoryStore(timeSource: time)
            let redis = RedisStore(client: client, clock: .client, expiryGrace: Self.grace, timeSource: time)
            var random = SplitMix64(seed: 0x51_1CE)
            var allowedAt: [Int64] = []
            for index in 0..<1_500 {
                time.advance(by: .milliseconds(Int64.random(in: 0...40, using: &random)))
                let cost = Int.random(in: 1...3, using: &random)
                let expected = try await memory.check(policy: policy, key: "random:{k}", cost: cost)
                let actual = try await redis.check(policy: policy, key: "random:{k}", cost: cost)
                #expect(
                    actual == expected, "check \(index) at +\(time.nowMilliseconds() - Self.start) ms, cost \(cost)")
                guard let countedAt = actual.countedAt else { continue }
                allowedAt += Array(repeating: countedAt, count: cost)
                // One allowed check in four is turned away by a later rule and refunded.
                if Int.random(in: 0..<4, using: &random) == 0 {
                    memory.refund(policy: policy, key: "random:{k}", cost: cost, countedAt: countedAt)
                    try await redis.refund(policy: policy, key: "random:{k}", cost: cost, countedAt: countedAt)
                    allowedAt.removeLast(cost)
                }
            }
            if algorithm == .slidingWindow {
                // No interval (t - window, t] ever holds more than `limit` allowed units.
                for (index, time) in allowedAt.enumerated() {
                    let inWindow = allowedAt[...index].reversed().prefix { $0 > time - policy.windowMilliseconds }
                    #expect(inWindow.count <= policy.limit, "\(inWindow.count) units in the window ending at \(time)")
                }
            }
        }
    }
}
