/// Division by a number fixed in advance (a policy's window or limit) as a multiply and shifts:
/// a 64-bit `div` costs tens of cycles, about as much as the rest of a token-bucket check.
///
/// Granlund and Montgomery's round-down method ("Division by Invariant Integers using
/// Multiplication", 1994, figure 4.1): with `ℓ = ⌈log₂ d⌉` and `m = ⌊2⁶⁴(2^ℓ − d)/d⌋ + 1`,
/// `n / d = (t + (n − t) / 2) >> (ℓ − 1)` where `t` is the high half of `m × n` — exact for every
/// 64-bit `n`.
///
/// ```swift
/// let byWindow = ConstantDivisor(60_000)
/// byWindow.divide(3_600_000)  // 60
/// ```
struct ConstantDivisor: Sendable, Hashable {
    /// The divisor.
    let divisor: UInt64
    private let multiplier: UInt64
    private let shift: UInt64

    /// A divisor of `divisor`, at least 1.
    init(_ divisor: UInt64) {
        precondition(divisor >= 1, "division by zero")
        self.divisor = divisor
        guard divisor > 1 else {
            multiplier = 0
            shift = 0
            return
        }
        let log2Ceiling = UInt64(64 - (divisor - 1).leadingZeroBitCount)
        // 2^ℓ − d < d, so the 128-by-64 division cannot overflow; 2^ℓ wraps to 0 when ℓ = 64.
        let high = (log2Ceiling == 64 ? 0 : UInt64(1) << log2Ceiling) &- divisor
        multiplier = divisor.dividingFullWidth((high: high, low: 0)).quotient &+ 1
        shift = log2Ceiling - 1
    }

    /// `dividend / divisor`, rounded down.
    @inline(__always)
    func divide(_ dividend: UInt64) -> UInt64 {
        guard divisor > 1 else { return dividend }
        let t = multiplier.multipliedFullWidth(by: dividend).high
        return (t &+ ((dividend &- t) >> 1)) >> shift
    }
}
