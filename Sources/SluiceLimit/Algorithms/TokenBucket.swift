/// One key's state under the token-bucket algorithm: a bucket of up to `burst` tokens that refills continuously
/// at `limit` tokens per `window`.
///
/// The bucket is kept in fixed point: its ``level`` counts *token-milliseconds* (tokens × window ms), so the
/// refill is exactly `limit` units per millisecond and a cost of `n` tokens is `n × window` units. Fractional
/// tokens are therefore kept exactly — 3 tokens per second accrue 3 units a millisecond of 1,000 per token —
/// and waiting times are exact integer divisions, with nothing for floating point to round away. The Redis
/// script does the same arithmetic, so both stores decide alike to the millisecond. (``RateLimitPolicy``
/// keeps `burst × window` within 2^53 so the script's doubles stay exact.)
///
/// ```swift
/// var bucket = TokenBucket.full(for: policy, at: nowMilliseconds)
/// let decision = bucket.check(cost: 1, now: nowMilliseconds, policy: policy)
/// ```
public struct TokenBucket: Sendable, Hashable {
    /// Token-milliseconds in the bucket at `updatedAt`, before any refill since.
    public private(set) var level: Int64
    /// When `level` was last changed, in milliseconds since the epoch.
    public private(set) var updatedAt: Int64

    /// Creates a bucket holding `level` token-milliseconds at time `updatedAt`.
    public init(level: Int64, updatedAt: Int64) {
        self.level = level
        self.updatedAt = updatedAt
    }

    /// A full bucket, the state of a key not seen before.
    public static func full(for policy: RateLimitPolicy, at now: Int64) -> TokenBucket {
        TokenBucket(level: policy.bucketCapacity, updatedAt: now)
    }

    /// The tokens in the bucket at `updatedAt`, with their fraction.
    public func tokens(policy: RateLimitPolicy) -> Double {
        Double(level) / Double(policy.windowMilliseconds)
    }

    /// Takes `cost` tokens at time `now` if the bucket, refilled up to `now`, holds that many; a denial changes
    /// nothing.
    ///
    /// A request costing more than `policy.burst` can never pass; it is denied with `retryAfter` equal to
    /// `resetAfter`, the time until the bucket is full (zero if it already is). Should the clock go backwards,
    /// the bucket neither refills nor moves `updatedAt` back, so that interval is never refilled twice.
    public mutating func check(cost: Int, now: Int64, policy: RateLimitPolicy) -> Decision {
        precondition(cost >= 1, "a request costs at least 1 unit, got \(cost)")
        let need = Self.need(cost: cost, policy: policy)
        var available = level(at: now, policy: policy)
        let allowed = available >= need
        if allowed {
            available -= need
            level = available
            updatedAt = max(updatedAt, now)
        }
        return Self.decision(leaving: available, allowed: allowed, need: need, policy: policy, at: now)
    }

    /// The decision of a check of `need` token-milliseconds that leaves `available` in the bucket
    /// at time `now`; shared with the Redis store, which decides batches of checks from one
    /// script call with the same formulas.
    static func decision(
        leaving available: Int64, allowed: Bool, need: Int64, policy: RateLimitPolicy, at now: Int64
    ) -> Decision {
        let capacity = policy.bucketCapacity
        let resetAfter = Self.wait(from: available, to: capacity, policy: policy)
        let retryAfter: Int64
        if allowed {
            retryAfter = 0
        } else if need > capacity {
            retryAfter = resetAfter
        } else {
            retryAfter = Self.wait(from: available, to: need, policy: policy)
        }
        return Decision(
            allowed: allowed,
            limit: policy.burst,
            remaining: Int(policy.windowDivisor.divide(UInt64(available))),
            resetAfterMilliseconds: resetAfter,
            retryAfterMilliseconds: retryAfter,
            countedAt: allowed ? now : nil
        )
    }

    /// Puts back the `cost` tokens a check at `countedAt` took (a later check denied the same
    /// request), up to the capacity — but only while that check is still the bucket's last change
    /// (`updatedAt == countedAt`). Then adding to the stored level equals adding after the refill
    /// since, as both are capped at the capacity. After a later change at a later time, the
    /// refill in between may have been capped, and putting the tokens back could give more than
    /// was taken; the refund is skipped, which can only deny early.
    public mutating func refund(cost: Int, countedAt: Int64, policy: RateLimitPolicy) {
        guard updatedAt == countedAt else { return }
        let capacity = policy.bucketCapacity
        level = min(capacity, level + min(capacity, Self.need(cost: cost, policy: policy)))
    }

    /// When the bucket is full again and the state can be forgotten (a new bucket starts full).
    public func expiresAt(policy: RateLimitPolicy) -> Int64 {
        updatedAt + Self.wait(from: level, to: policy.bucketCapacity, policy: policy)
    }

    /// ``expiresAt(policy:)`` just after a check at `now` decided `decision`, read off the decision's
    /// `resetAfter` instead of dividing again: the same instant, except that a bucket already full
    /// at `now` gives `now` (or `updatedAt`, should the clock have gone back) rather than when it
    /// filled. Later never harms: a state kept past its expiry decides as a new one would.
    ///
    /// The level at `now` is the stored level plus `(now - updatedAt) × limit` token-milliseconds, so
    /// the wait for the refill from it is the wait from the stored level less `now - updatedAt`.
    func expiresAt(afterCheckAt now: Int64, deciding decision: Decision) -> Int64 {
        max(now, updatedAt) + decision.resetAfterMilliseconds
    }

    /// The token-milliseconds a request of `cost` takes: `cost × window`, or `Int64.max` when that
    /// overflows (more than any bucket holds, as ``RateLimitPolicy`` keeps capacities within 2^53).
    static func need(cost: Int, policy: RateLimitPolicy) -> Int64 {
        let (need, overflow) = Int64(cost).multipliedReportingOverflow(by: policy.windowMilliseconds)
        return overflow ? .max : need
    }

    /// The level at `time`: `min(capacity, level + elapsed × limit)`; a product that overflows
    /// (a very long idle time) is past the capacity anyway. A level above the capacity (the burst
    /// was lowered by a reload) reads as the capacity, as the Redis script has it.
    private func level(at time: Int64, policy: RateLimitPolicy) -> Int64 {
        let missing = policy.bucketCapacity - level
        guard missing > 0 else { return policy.bucketCapacity }
        guard time > updatedAt else { return level }
        let (refill, overflow) = (time - updatedAt).multipliedReportingOverflow(by: Int64(policy.limit))
        return overflow || refill >= missing ? policy.bucketCapacity : level + refill
    }

    /// Milliseconds until the refill takes `level` up to `target`: `ceil((target - level) / limit)`.
    private static func wait(from level: Int64, to target: Int64, policy: RateLimitPolicy) -> Int64 {
        guard target > level else { return 0 }
        return Int64(policy.limitDivisor.divide(UInt64(target - level + Int64(policy.limit) - 1)))
    }
}
