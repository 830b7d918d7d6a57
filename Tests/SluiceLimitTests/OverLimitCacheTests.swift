import Foundation
import SluiceLimit
import SluiceNet
import SluiceRedis
import SluiceTestSupport
import Testing

/// The over-limit cache in front of a real Redis: denials repeat without Redis round trips,
/// and the cache never denies once the store would allow again.
@Suite struct OverLimitCacheTests {
    @Test func deniedKeysStopReachingRedisUntilTheirRetryAfter() async throws {
        try await withRedisServer { server in
            let client = try RedisClient(url: server.url)
            defer { client.shutdown() }
            let policy = try RateLimitPolicy(algorithm: .fixedWindow, limit: 2, window: .seconds(86_400))
            let limiter = RateLimiter(
                name: "cached", policy: policy, store: OverLimitCache(RedisStore(client: client, prefix: "c")))
            var allowed = 0
            for _ in 0..<10 where try await limiter.check(key: "abuser").allowed { allowed += 1 }
            #expect(allowed == 2)
            // Two allowed and one denied reached Redis; the other seven were answered locally.
            let counters = try server.cli(["--scan", "--pattern", "c:*"]).split(separator: "\n")
            #expect(counters.count == 1)
            let count = try server.cli(["get", String(counters[0])]).trimmingCharacters(in: .whitespacesAndNewlines)
            #expect(count == "3")
            let cached = try await limiter.check(key: "abuser")
            #expect(!cached.allowed && cached.remaining == 0 && cached.retryAfter > .seconds(1))
        }
    }

    /// A denial is cached for the key's bytes: a key equal to it as text but not as bytes (é as
    /// one code point, or as e and a combining accent) is another client, and asks the store.
    @Test func aDenialIsCachedForTheKeysBytesNotForEqualText() async throws {
        let policy = try RateLimitPolicy(algorithm: .fixedWindow, limit: 1, window: .seconds(86_400))
        let limiter = RateLimiter(name: "bytes", policy: policy, store: OverLimitCache(MemoryStore()))
        #expect(try await limiter.check(key: "caf\u{E9}").allowed)
        #expect(try await !limiter.check(key: "caf\u{E9}").allowed)
        #expect(try await limiter.check(key: "cafe\u{301}").allowed, "the other key's denial answered for it")
    }

    @Test func aCachedDenialEndsWhenTheStoreWouldAllowAgain() async throws {
        try await withRedisServer { server in
            let client = try RedisClient(url: server.url)
            defer { client.shutdown() }
            let policy = try RateLimitPolicy(algorithm: .tokenBucket, limit: 1, window: .seconds(1))
            let limiter = RateLimiter(name: "refill", policy: policy, store: OverLimitCache(RedisStore(client: client)))
            // Spend the token and get denied (a stalled machine may refill it in between: try again).
            var denial = try await limiter.check(key: "k")
            for _ in 0..<20 where denial.allowed { denial = try await limiter.check(key: "k") }
            #expect(!denial.allowed)
            try await Task.sleep(for: denial.retryAfter + .milliseconds(50))
            #expect(try await limiter.check(key: "k").allowed, "the token came back; the cache let the request through")
        }
    }

    /// A cached denial answers only checks like the one denied: the same cost (a larger one waits
    /// longer, and the store says how long) and the same policy (a reload may have raised the limit),
    /// with the remaining units the store gave.
    @Test func aCachedDenialAnswersOnlyItsOwnCostAndPolicy() async throws {
        let policy = try RateLimitPolicy(algorithm: .fixedWindow, limit: 5, window: .seconds(86_400))
        let cache = OverLimitCache(MemoryStore())
        #expect(try await cache.check(policy: policy, key: "k", cost: 3).allowed)
        let denied = try await cache.check(policy: policy, key: "k", cost: 3)
        #expect(!denied.allowed && denied.remaining == 2)
        let again = try await cache.check(policy: policy, key: "k", cost: 3)
        #expect(!again.allowed && again.remaining == 2, "the cached denial keeps the store's figures")
        #expect(try await cache.check(policy: policy, key: "k", cost: 2).allowed, "a smaller cost asks the store")
        let raised = try RateLimitPolicy(algorithm: .fixedWindow, limit: 10, window: .seconds(86_400))
        #expect(try await cache.check(policy: raised, key: "k", cost: 3).allowed, "a raised limit asks the store")
    }

    /// A larger cost waits longer than the denial cached for a smaller one: it asks the store.
    /// Sliding window of 10 units in 10 s, one unit a second from 0 s: at 9.5 s one more unit
    /// fits at 10 s (0.5 s on), five more only at 14 s (4.5 s on).
    @Test func aLargerCostGetsItsOwnRetryAfter() async throws {
        let time = ManualTimeSource(milliseconds: 0)
        let policy = try RateLimitPolicy(algorithm: .slidingWindow, limit: 10, window: .seconds(10))
        let cache = OverLimitCache(MemoryStore(timeSource: time), timeSource: time)
        for second in 0..<10 {
            time.set(milliseconds: Int64(second) * 1_000)
            #expect(try await cache.check(policy: policy, key: "k", cost: 1).allowed)
        }
        time.set(milliseconds: 9_500)
        #expect(try await cache.check(policy: policy, key: "k", cost: 1).retryAfter == .milliseconds(500))
        #expect(try await cache.check(policy: policy, key: "k", cost: 5).retryAfter == .milliseconds(4_500))
    }

    /// A check whose denial was decided before a refund and comes back after it (on another event
    /// loop's connection, the answers can come in that order) is not remembered: the refund may
    /// have made room.
    @Test func aDenialAnsweredAfterARefundIsNotRemembered() async throws {
        let policy = try RateLimitPolicy(algorithm: .fixedWindow, limit: 1, window: .seconds(86_400))
        let store = HeldAnswers(MemoryStore())
        let cache = OverLimitCache(store)
        let allowed = try await cache.check(policy: policy, key: "k", cost: 1)
        #expect(allowed.allowed)
        store.holdNextAnswer()
        async let late = cache.check(policy: policy, key: "k", cost: 1)  // decided now: denied, answered later
        await store.waitUntilHeld()
        try await cache.refund(policy: policy, key: "k", cost: 1, countedAt: allowed.countedAt!)
        store.releaseHeldAnswer()
        #expect(try await !late.allowed)
        #expect(try await cache.check(policy: policy, key: "k", cost: 1).allowed, "the refunded unit is there")
    }
}

/// A memory store whose next check is decided at once but answered only when released: the order
/// of answers two event loops' connections can give.
private final class HeldAnswers: RateLimitStore, @unchecked Sendable {
    private let store: MemoryStore
    private let lock = NSLock()
    private var holdNext = false
    private var held: CheckedContinuation<Void, Never>?
    private var whenHeld: CheckedContinuation<Void, Never>?

    init(_ store: MemoryStore) { self.store = store }

    func holdNextAnswer() { lock.withLock { holdNext = true } }

    func waitUntilHeld() async {
        await withCheckedContinuation { continuation in
            let alreadyHeld = lock.withLock {
                if held != nil { return true }
                whenHeld = continuation
                return false
            }
            if alreadyHeld { continuation.resume() }
        }
    }

    func releaseHeldAnswer() { lock.withLock { held.take() }?.resume() }

    func check(policy: RateLimitPolicy, key: String, cost: Int) async throws(RateLimitError) -> Decision {
        let decide: (RateLimitPolicy, String, Int) -> Decision = store.check(policy:key:cost:)  // the synchronous one
        let decision = decide(policy, key, cost)
        guard lock.withLock({ holdNext }) else { return decision }
        await withCheckedContinuation { continuation in
            let waiter = lock.withLock {
                holdNext = false
                held = continuation
                return whenHeld.take()
            }
            waiter?.resume()
        }
        return decision
    }

    func check(
        policy: RateLimitPolicy, key: String, cost: Int, on loop: EventLoop,
        completion: @escaping (Result<Decision, RateLimitError>) -> Void
    ) {
        store.check(policy: policy, key: key, cost: cost, on: loop, completion: completion)
    }

    func refund(policy: RateLimitPolicy, key: String, cost: Int, countedAt: Int64) async throws(RateLimitError) {
        store.refund(policy: policy, key: key, cost: cost, countedAt: countedAt)
    }

    func refund(
        policy: RateLimitPolicy, key: String, cost: Int, countedAt: Int64, on loop: EventLoop,
        completion: @escaping (Result<Void, RateLimitError>) -> Void
    ) {
        store.refund(policy: policy, key: key, cost: cost, countedAt: countedAt, on: loop, completion: completion)
    }
}
