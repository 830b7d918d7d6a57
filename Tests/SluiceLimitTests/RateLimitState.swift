import SluiceLimit

/// What the three algorithm states have in common, so one test can drive any of them.
protocol RateLimitState {
    mutating func check(cost: Int, now: Int64, policy: RateLimitPolicy) -> Decision
}

extension FixedWindowCounter: RateLimitState {}
extension SlidingWindowLog: RateLimitState {}
extension TokenBucket: RateLimitState {}

/// The state of a key never seen before under `policy`.
func newState(for policy: RateLimitPolicy, now: Int64) -> any RateLimitState {
    switch policy.algorithm {
    case .fixedWindow: FixedWindowCounter()
    case .slidingWindow: SlidingWindowLog()
    case .tokenBucket: TokenBucket.full(for: policy, at: now)
    }
}
