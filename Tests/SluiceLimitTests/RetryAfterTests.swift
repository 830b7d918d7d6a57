import SluiceLimit
import SluiceTestSupport
import Testing

/// A denial's `retryAfter` is exact: the same request is still denied a millisecond earlier and allowed then.
@Suite struct RetryAfterTests {
    static let policies: [RateLimitPolicy] = [
        try! RateLimitPolicy(algorithm: .fixedWindow, limit: 10, window: .seconds(1)),
        try! RateLimitPolicy(algorithm: .fixedWindow, limit: 7, window: .milliseconds(333)),
        try! RateLimitPolicy(algorithm: .slidingWindow, limit: 10, window: .seconds(1)),
        try! RateLimitPolicy(algorithm: .slidingWindow, limit: 7, window: .milliseconds(333)),
        try! RateLimitPolicy(algorithm: .tokenBucket, limit: 10, window: .seconds(1)),
        try! RateLimitPolicy(algorithm: .tokenBucket, limit: 3, window: .seconds(1), burst: 8),
        try! RateLimitPolicy(algorithm: .tokenBucket, limit: 7, window: .milliseconds(333), burst: 5),
        try! RateLimitPolicy(algorithm: .tokenBucket, limit: 1_000, window: .seconds(3_600), burst: 10),
    ]

    @Test(arguments: policies)
    func deniedRequestPassesExactlyAtRetryAfter(policy: RateLimitPolicy) {
        var generator = SplitMix64(seed: 42)
        var state = newState(for: policy, now: 0)
        var now: Int64 = 1_700_000_000_000
        var denials = 0
        for _ in 0..<2_000 {
            now += Int64.random(in: 0..<40, using: &generator)
            let cost = Int.random(in: 1...min(3, policy.burst), using: &generator)
            let before = state
            let decision = state.check(cost: cost, now: now, policy: policy)
            guard !decision.allowed else {
                #expect(decision.retryAfter == .zero)
                continue
            }
            denials += 1
            let retryAt = now + milliseconds(decision.retryAfter)
            #expect(retryAt > now)
            var early = before
            #expect(!early.check(cost: cost, now: retryAt - 1, policy: policy).allowed)
            var onTime = before
            #expect(onTime.check(cost: cost, now: retryAt, policy: policy).allowed)
        }
        #expect(denials > 100)
    }

    @Test(arguments: policies)
    func resetAfterIsWhenTheFullQuotaIsBack(policy: RateLimitPolicy) {
        var generator = SplitMix64(seed: 7)
        var state = newState(for: policy, now: 0)
        var now: Int64 = 1_700_000_000_000
        for _ in 0..<500 {
            now += Int64.random(in: 0..<40, using: &generator)
            let decision = state.check(cost: 1, now: now, policy: policy)
            var probe = state
            let quota = policy.algorithm == .tokenBucket ? policy.burst : policy.limit
            let resetAt = now + milliseconds(decision.resetAfter)
            #expect(probe.check(cost: quota, now: resetAt, policy: policy).allowed)
        }
    }
}
