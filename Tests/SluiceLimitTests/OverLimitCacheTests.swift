import Foundation
import SluiceLimit
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
}
