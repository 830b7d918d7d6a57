/// One key's state under the fixed-window algorithm: how many units were allowed in the current window.
///
/// Windows are aligned to multiples of the window length since the epoch, so every instance sharing a store agrees
/// on them. At most `limit` units pass per window, though up to twice that can pass across a window edge.
///
/// ```swift
/// var counter = FixedWindowCounter()
/// let decision = counter.check(cost: 1, now: nowMilliseconds, policy: policy)
/// ```
public struct FixedWindowCounter: Sendable, Hashable {
    /// Which window `count` belongs to: the time divided by the window length, rounded down.
    public private(set) var windowIndex: Int64
    /// Units allowed so far in window `windowIndex`.
    public private(set) var count: Int

    /// Creates a counter holding `count` units in window `windowIndex`; the defaults mean nothing counted.
    public init(windowIndex: Int64 = 0, count: Int = 0) {
        self.windowIndex = windowIndex
        self.count = count
    }

    /// Counts `cost` units at time `now` if they fit in the current window; a denial changes nothing.
    ///
    /// A request costing more than `policy.limit` can never pass; it is denied with `retryAfter` equal to
    /// `resetAfter`, the time until the current window ends (zero if the window has nothing counted).
    ///
    /// A check whose `now` falls in an earlier window than the counter's (a clock read a moment before another
    /// check's: each event loop reads its own once per iteration) is decided in the counter's window, at its start:
    /// the check reaches the counter after one made in that window, so that is where it happens. Counting it in the
    /// earlier window instead would start that window's count afresh and lose the newer one's.
    ///
    /// - Parameters:
    ///   - cost: Units the request consumes, at least 1.
    ///   - now: Milliseconds since the epoch.
    ///   - policy: The quota to enforce; its algorithm is not consulted.
    public mutating func check(cost: Int, now: Int64, policy: RateLimitPolicy) -> Decision {
        precondition(cost >= 1, "a request costs at least 1 unit, got \(cost)")
        let window = policy.windowMilliseconds
        var index = Self.windowIndex(of: now, policy: policy)
        var now = now
        if index < windowIndex && count > 0 {
            (index, now) = (windowIndex, windowIndex * window)
        }
        let current = index == windowIndex ? count : 0
        // `cost` may be any size: compared with what is left, so that no sum can overflow.
        let allowed = cost <= policy.limit - current
        let counted = allowed ? current + cost : current
        if allowed {
            windowIndex = index
            count = counted
        }
        let resetAfter = counted == 0 ? 0 : (index + 1) * window - now
        return Decision(
            allowed: allowed,
            limit: policy.limit,
            remaining: max(0, policy.limit - counted),
            resetAfterMilliseconds: resetAfter,
            retryAfterMilliseconds: allowed ? 0 : resetAfter,
            countedAt: allowed ? now : nil
        )
    }

    /// Gives back `cost` units counted at `countedAt` (a later check denied the same request);
    /// nothing once their window has passed, as a new window owes them nothing.
    public mutating func refund(cost: Int, countedAt: Int64, policy: RateLimitPolicy) {
        guard Self.windowIndex(of: countedAt, policy: policy) == windowIndex else { return }
        count = max(0, count - cost)
    }

    /// The first instant (milliseconds since the epoch) from which this state is indistinguishable from a new
    /// counter, so a store may forget it: the end of window `windowIndex`.
    public func expiresAt(policy: RateLimitPolicy) -> Int64 {
        count == 0 ? .min : (windowIndex + 1) * policy.windowMilliseconds
    }

    /// The window `time` falls in: `time / window` rounded toward negative infinity, so times before
    /// the epoch fall in the right window. By the policy's precomputed divisor (a multiply) for any
    /// time since the epoch: a 64-bit `idiv` took a fifth of a check.
    static func windowIndex(of time: Int64, policy: RateLimitPolicy) -> Int64 {
        guard time < 0 else { return Int64(policy.windowDivisor.divide(UInt64(time))) }
        let window = policy.windowMilliseconds
        let quotient = time / window
        return time % window < 0 ? quotient - 1 : quotient
    }
}
