/// Exponential backoff with full jitter: attempt *n* waits a random time in
/// `0...min(maximum, base × 2ⁿ)`, so many clients that lost the same server do not return
/// in lockstep.
///
/// ```swift
/// var backoff = Backoff(base: .milliseconds(50), maximum: .seconds(2))
/// let wait = backoff.nextDelay()  // somewhere in 0...50 ms
/// backoff.reset()                  // after a success
/// ```
public struct Backoff: Sendable {
    /// The ceiling of the first delay.
    public var base: Duration
    /// The largest ceiling any delay may have.
    public var maximum: Duration
    /// How many delays were handed out since the last ``reset()``.
    public private(set) var attempt = 0

    /// Creates a backoff starting at `base`, capped at `maximum`.
    public init(base: Duration, maximum: Duration) {
        self.base = base
        self.maximum = maximum
    }

    /// The ceiling of the next delay, before jitter.
    public var currentCeiling: Duration {
        let factor = 1 << min(attempt, 30)
        let grown = base * factor
        return grown < maximum ? grown : maximum
    }

    /// The next delay, using `generator` for the jitter.
    public mutating func nextDelay<G: RandomNumberGenerator>(using generator: inout G) -> Duration {
        let ceiling = currentCeiling.nanosecondsClamped
        attempt += 1
        return .nanoseconds(Int64.random(in: 0...ceiling, using: &generator))
    }

    /// The next delay, with the system's random numbers.
    public mutating func nextDelay() -> Duration {
        var generator = SystemRandomNumberGenerator()
        return nextDelay(using: &generator)
    }

    /// Starts again from `base` (call after a success).
    public mutating func reset() {
        attempt = 0
    }
}

extension Duration {
    var nanosecondsClamped: Int64 {
        let (seconds, attoseconds) = components
        if seconds >= Int64.max / 1_000_000_000 { return Int64.max }
        return max(0, seconds * 1_000_000_000 + attoseconds / 1_000_000_000)
    }
}
