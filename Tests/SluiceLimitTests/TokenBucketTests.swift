import SluiceTestSupport
import Testing

@testable import SluiceLimit

@Suite struct TokenBucketTests {
    private let start: Int64 = 1_700_000_000_000

    @Test func burstThenSteadyRefill() throws {
        let policy = try RateLimitPolicy(algorithm: .tokenBucket, limit: 1, window: .seconds(1), burst: 10)
        var bucket = TokenBucket.full(for: policy, at: start)
        #expect(bucket.expiresAt(policy: policy) == start)
        for expectedRemaining in (0..<10).reversed() {
            let decision = bucket.check(cost: 1, now: start, policy: policy)
            #expect(decision.allowed)
            #expect(decision.limit == 10)
            #expect(decision.remaining == expectedRemaining)
        }

        let eleventh = bucket.check(cost: 1, now: start, policy: policy)
        #expect(
            eleventh
                == Decision(allowed: false, limit: 10, remaining: 0, resetAfter: .seconds(10), retryAfter: .seconds(1))
        )
        let halfway = bucket.check(cost: 1, now: start + 500, policy: policy)
        #expect(!halfway.allowed)
        #expect(halfway.retryAfter == .milliseconds(500))
        #expect(halfway.resetAfter == .milliseconds(9_500))

        let refilled = bucket.check(cost: 1, now: start + 1_000, policy: policy)
        #expect(refilled.allowed)
        #expect(refilled.remaining == 0)
        #expect(!bucket.check(cost: 1, now: start + 1_000, policy: policy).allowed)
    }

    @Test func keepsFractionalTokens() throws {
        let policy = try RateLimitPolicy(algorithm: .tokenBucket, limit: 3, window: .seconds(1))
        var bucket = TokenBucket.full(for: policy, at: 0)
        #expect(bucket.check(cost: 3, now: 0, policy: policy).allowed)

        let empty = bucket.check(cost: 1, now: 0, policy: policy)
        #expect(empty.retryAfter == .milliseconds(334))  // 1 / 0.003 = 333.3
        #expect(empty.resetAfter == .milliseconds(1_000))
        #expect(!bucket.check(cost: 1, now: 333, policy: policy).allowed)  // 0.999 tokens

        let first = bucket.check(cost: 1, now: 334, policy: policy)  // 1.002 tokens
        #expect(first.allowed)
        #expect(bucket.level == 2)  // 0.002 tokens: 2 of the 1,000 units a token is made of
        #expect(abs(bucket.tokens(policy: policy) - 0.002) < 1e-12)
        // The 0.002 left over counts: the next token needs 0.998 more, 332.7 ms.
        let second = bucket.check(cost: 1, now: 334, policy: policy)
        #expect(second.retryAfter == .milliseconds(333))
        #expect(bucket.check(cost: 1, now: 667, policy: policy).allowed)
    }

    @Test func deniedRequestConsumesNothing() throws {
        let policy = try RateLimitPolicy(algorithm: .tokenBucket, limit: 5, window: .seconds(5))
        var bucket = TokenBucket.full(for: policy, at: start)
        _ = bucket.check(cost: 3, now: start, policy: policy)
        let before = bucket

        let denied = bucket.check(cost: 3, now: start + 100, policy: policy)
        #expect(!denied.allowed)
        #expect(denied.remaining == 2)
        #expect(denied.retryAfter == .milliseconds(900))
        #expect(bucket == before)

        let single = bucket.check(cost: 1, now: start + 100, policy: policy)
        #expect(single.allowed)
        #expect(single.remaining == 1)
    }

    @Test func costAboveBurstIsDeniedWithResetAfter() throws {
        let policy = try RateLimitPolicy(algorithm: .tokenBucket, limit: 10, window: .seconds(1), burst: 5)
        var bucket = TokenBucket.full(for: policy, at: 0)
        let full = bucket.check(cost: 6, now: 0, policy: policy)
        #expect(full == Decision(allowed: false, limit: 5, remaining: 5, resetAfter: .zero, retryAfter: .zero))
        _ = bucket.check(cost: 2, now: 0, policy: policy)
        let used = bucket.check(cost: 6, now: 0, policy: policy)
        #expect(used.resetAfter == .milliseconds(200))
        #expect(used.retryAfter == used.resetAfter)
    }

    @Test func survivesAYearIdle() throws {
        let fast = try RateLimitPolicy(algorithm: .tokenBucket, limit: 1_000_000_000, window: .milliseconds(1))
        var bucket = TokenBucket.full(for: fast, at: start)
        _ = bucket.check(cost: 1_000_000_000, now: start, policy: fast)
        let yearLater = bucket.check(cost: 1, now: start + 366 * 86_400_000, policy: fast)
        #expect(yearLater.allowed)
        #expect(yearLater.remaining == 999_999_999)

        // One token a year into a bucket of 100,000 (burst × window stays within 2^53).
        let slow = try RateLimitPolicy(
            algorithm: .tokenBucket,
            limit: 1,
            window: .seconds(366 * 86_400),
            burst: 100_000
        )
        var slowBucket = TokenBucket.full(for: slow, at: start)
        _ = slowBucket.check(cost: 100_000, now: start, policy: slow)
        let drained = slowBucket.check(cost: 1, now: start, policy: slow)
        let year = Duration.seconds(366 * 86_400)
        #expect(drained.retryAfter == year, "fixed point: exactly a year, not a millisecond more")
        var retried = slowBucket
        #expect(!retried.check(cost: 1, now: start + milliseconds(year) - 1, policy: slow).allowed)
        #expect(retried.check(cost: 1, now: start + milliseconds(year), policy: slow).allowed)
        #expect(drained.resetAfter == year * 100_000)
        #expect(slowBucket.expiresAt(policy: slow) == start + milliseconds(year) * 100_000)
    }

    @Test func expiresWhenFull() throws {
        let policy = try RateLimitPolicy(algorithm: .tokenBucket, limit: 10, window: .seconds(1))
        var bucket = TokenBucket.full(for: policy, at: start)
        #expect(bucket.expiresAt(policy: policy) == start)
        _ = bucket.check(cost: 4, now: start, policy: policy)
        #expect(bucket.expiresAt(policy: policy) == start + 400)
    }

    /// The store takes a bucket's expiry from the decision of the check that just changed it; that
    /// must be the bucket's own expiry, or later only while the bucket is full.
    @Test func theExpiryReadOffADecisionIsTheBucketsOwn() throws {
        var random = SplitMix64(seed: 0xB0C7E7)
        for (limit, burst, window) in [(1, 1, 1_000), (3, 10, 1_000), (7, 5, 60_000), (1_000, 1_000, 250)] {
            let policy = try RateLimitPolicy(
                algorithm: .tokenBucket, limit: limit, window: .milliseconds(window), burst: burst)
            var bucket = TokenBucket.full(for: policy, at: start)
            var now = start
            for _ in 0..<5_000 {
                // Mostly forward, sometimes a long idle, sometimes back (two event loops' readings).
                now += Int64.random(in: -50...Int64(window) / 2, using: &random)
                if Int.random(in: 0..<50, using: &random) == 0 {
                    now += Int64(window) * 20
                }
                let decision = bucket.check(
                    cost: Int.random(in: 1...burst + 1, using: &random), now: now, policy: policy)
                let exact = bucket.expiresAt(policy: policy)
                let readOff = bucket.expiresAt(afterCheckAt: now, deciding: decision)
                if decision.resetAfterMilliseconds > 0 {
                    #expect(readOff == exact, "limit \(limit), burst \(burst), window \(window) ms, at \(now)")
                } else {
                    #expect(readOff >= exact && readOff == max(now, bucket.updatedAt))
                }
            }
        }
        // Fixed cases: a level above the capacity (the burst lowered since), a cost above the burst, and an idle
        // time whose refill overflows.
        let policy = try RateLimitPolicy(algorithm: .tokenBucket, limit: 2, window: .seconds(1), burst: 4)
        let cases: [(TokenBucket, cost: Int, now: Int64)] = [
            (TokenBucket(level: 9_000, updatedAt: start), 1, start + 10),
            (TokenBucket(level: 1_000, updatedAt: start), 5, start + 10),
            (TokenBucket(level: 0, updatedAt: start), 1, start + Int64.max / 2),
        ]
        for (initial, cost, now) in cases {
            var bucket = initial
            let decision = bucket.check(cost: cost, now: now, policy: policy)
            let readOff = bucket.expiresAt(afterCheckAt: now, deciding: decision)
            #expect(readOff >= bucket.expiresAt(policy: policy), "level \(initial.level), cost \(cost)")
            #expect(readOff <= max(now, bucket.updatedAt) + 2_000)
        }
    }

    @Test func clockGoingBackwardsRefillsNothingTwice() throws {
        let policy = try RateLimitPolicy(algorithm: .tokenBucket, limit: 1, window: .seconds(1))
        var bucket = TokenBucket.full(for: policy, at: start)
        _ = bucket.check(cost: 1, now: start, policy: policy)
        #expect(!bucket.check(cost: 1, now: start - 5_000, policy: policy).allowed)
        #expect(!bucket.check(cost: 1, now: start + 999, policy: policy).allowed)
        #expect(bucket.check(cost: 1, now: start + 1_000, policy: policy).allowed)
    }

    @Test func aRefundPutsTokensBackUpToTheBurst() throws {
        let policy = try RateLimitPolicy(algorithm: .tokenBucket, limit: 1, window: .seconds(1), burst: 3)
        var bucket = TokenBucket.full(for: policy, at: start)
        let taken = bucket.check(cost: 2, now: start, policy: policy)
        #expect(taken.allowed && taken.remaining == 1)
        #expect(taken.countedAt == start)
        bucket.refund(cost: 2, countedAt: start, policy: policy)
        let all = bucket.check(cost: 3, now: start, policy: policy)
        #expect(all.allowed)

        // Half a token refills after the take; with the refund, the level stops at the burst.
        bucket.refund(cost: 3, countedAt: all.countedAt!, policy: policy)
        #expect(bucket.check(cost: 3, now: start + 500, policy: policy).allowed)
        #expect(!bucket.check(cost: 1, now: start + 500, policy: policy).allowed)
    }

    /// Burst 10: A takes 1, the bucket refills to full, B takes 1. Putting A's token back then would
    /// make 10 when, without A, there would be 9: a refund after a later take is skipped.
    @Test func aRefundAfterALaterTakeGivesNothingBack() throws {
        let policy = try RateLimitPolicy(algorithm: .tokenBucket, limit: 10, window: .seconds(1), burst: 10)
        var bucket = TokenBucket.full(for: policy, at: start)
        let first = bucket.check(cost: 1, now: start, policy: policy)
        _ = bucket.check(cost: 1, now: start + 200, policy: policy)
        bucket.refund(cost: 1, countedAt: first.countedAt!, policy: policy)
        #expect(!bucket.check(cost: 10, now: start + 200, policy: policy).allowed, "9 tokens, not 10")
    }

    /// A reload can lower the burst of a rule whose buckets are full: they hold the new burst, not the old one.
    @Test func aLoweredBurstCapsABucketFilledUnderTheOldOne() throws {
        let before = try RateLimitPolicy(algorithm: .tokenBucket, limit: 10, window: .seconds(1), burst: 100)
        let after = try RateLimitPolicy(algorithm: .tokenBucket, limit: 10, window: .seconds(1), burst: 10)
        var bucket = TokenBucket.full(for: before, at: 1_000)
        #expect(bucket.check(cost: 1, now: 1_000, policy: after).remaining == 9)
        var allowed = 1
        for _ in 0..<20 where bucket.check(cost: 1, now: 1_000, policy: after).allowed { allowed += 1 }
        #expect(allowed == 10)
    }

    /// What the README says of a reload that changes the window: levels kept in the old window's
    /// units read emptier under a longer window and fuller under a shorter one, never past `burst`.
    @Test func aChangedWindowReadsLevelsInTheOldWindowsUnits() throws {
        let perSecond = try RateLimitPolicy(algorithm: .tokenBucket, limit: 10, window: .seconds(1), burst: 10)
        let perMinute = try RateLimitPolicy(algorithm: .tokenBucket, limit: 600, window: .seconds(60), burst: 10)
        var full = TokenBucket.full(for: perSecond, at: 1_000)
        let longer = full.check(cost: 1, now: 1_000, policy: perMinute)
        #expect(!longer.allowed && longer.remaining == 0, "10 tokens of 1 s read as 1/6 of a 1 min token")
        var half = TokenBucket.full(for: perMinute, at: 1_000)
        for _ in 0..<5 { _ = half.check(cost: 1, now: 1_000, policy: perMinute) }
        let shorter = half.check(cost: 1, now: 1_000, policy: perSecond)
        #expect(shorter.allowed && shorter.remaining == 9, "5 tokens of 1 min read as a full 1 s bucket")
    }

    /// `cost × window` past Int64 (a year-long window, a cost of a billion) is denied, not a trap.
    @Test func aCostWhoseTokenMillisecondsOverflowIsDenied() throws {
        let policy = try RateLimitPolicy(algorithm: .tokenBucket, limit: 1, window: .seconds(366 * 86_400), burst: 1)
        var bucket = TokenBucket.full(for: policy, at: 0)
        let denied = bucket.check(cost: 1_000_000_000, now: 0, policy: policy)
        #expect(!denied.allowed && denied.remaining == 1 && denied.retryAfter == denied.resetAfter)
        bucket.refund(cost: .max, countedAt: 0, policy: policy)
        #expect(bucket.check(cost: 1, now: 0, policy: policy).allowed)
    }
}
