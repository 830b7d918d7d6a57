/// What a limiter enforces: an algorithm, a quota per window and, for the token bucket, a burst capacity.
///
/// Every value is checked when the policy is created, so a policy that exists can always be enforced.
///
/// ```swift
/// // 100 requests per minute, at most 20 at once.
/// let policy = try RateLimitPolicy(algorithm: .tokenBucket, limit: 100, window: .seconds(60), burst: 20)
/// ```
public struct RateLimitPolicy: Sendable, Hashable {
    /// The largest `limit` and `burst` accepted; big enough for any real quota, small enough that sums of
    /// costs never come near overflowing.
    public static let maximumQuota = 1_000_000_000
    /// The longest `window` accepted: 366 days.
    public static let maximumWindow = Duration.seconds(366 * 24 * 60 * 60)

    /// The largest token-bucket capacity in token-milliseconds (`burst × window ms`): 2^53, where the Redis
    /// script's Lua doubles are still exact integers.
    public static let maximumTokenMilliseconds: Int64 = 1 << 53

    /// How requests are counted.
    public let algorithm: RateLimitAlgorithm
    /// Units allowed per `window`; for the token bucket, the refill: `limit` tokens per `window`.
    public let limit: Int
    /// The period `limit` applies to: at least 1 ms, at most 366 days, a whole number of milliseconds.
    public let window: Duration
    /// The token bucket's capacity (the most units that can pass at once); equals `limit` for other algorithms.
    public let burst: Int
    /// `window` in milliseconds, the unit every algorithm computes in.
    public let windowMilliseconds: Int64
    /// Divides by `windowMilliseconds` without a `div` instruction.
    let windowDivisor: ConstantDivisor
    /// Divides by `limit` without a `div` instruction.
    let limitDivisor: ConstantDivisor
    /// A full token bucket's level, `burst × window ms` token-milliseconds (see ``TokenBucket``): within 2^53 for
    /// a token-bucket policy, `Int64.max` should another algorithm's product overflow.
    let bucketCapacity: Int64

    /// Creates a policy, checking every value.
    ///
    /// - Parameters:
    ///   - algorithm: How requests are counted.
    ///   - limit: Units per window, `1 ... 1_000_000_000`.
    ///   - window: At least 1 ms, at most 366 days, whole milliseconds.
    ///   - burst: The token bucket's capacity, `1 ... 1_000_000_000`; `nil` means `limit`. Only the token bucket
    ///     accepts it.
    /// - Throws: ``RateLimitPolicyError`` naming the first field that is out of range.
    public init(
        algorithm: RateLimitAlgorithm,
        limit: Int,
        window: Duration,
        burst: Int? = nil
    ) throws(RateLimitPolicyError) {
        try Self.validateQuota(limit, field: "limit")
        if let burst {
            guard algorithm == .tokenBucket else {
                throw RateLimitPolicyError(
                    field: "burst",
                    value: "\(burst)",
                    reason: "only the token-bucket algorithm has a burst; remove it or use token-bucket"
                )
            }
            try Self.validateQuota(burst, field: "burst")
        }
        self.algorithm = algorithm
        self.limit = limit
        self.window = window
        self.burst = burst ?? limit
        self.windowMilliseconds = try Self.validatedMilliseconds(of: window)
        self.windowDivisor = ConstantDivisor(UInt64(windowMilliseconds))
        self.limitDivisor = ConstantDivisor(UInt64(limit))
        if algorithm == .tokenBucket && Int64(self.burst) > Self.maximumTokenMilliseconds / windowMilliseconds {
            throw RateLimitPolicyError(
                field: "burst",
                value: "\(self.burst)",
                reason: "burst × window (\(windowMilliseconds) ms) must stay within 2^53 token-milliseconds; "
                    + "lower the burst or shorten the window"
            )
        }
        let (capacity, overflow) = Int64(self.burst).multipliedReportingOverflow(by: windowMilliseconds)
        self.bucketCapacity = overflow ? .max : capacity
    }

    private static func validateQuota(_ value: Int, field: String) throws(RateLimitPolicyError) {
        guard (1...maximumQuota).contains(value) else {
            throw RateLimitPolicyError(
                field: field,
                value: "\(value)",
                reason: "must be between 1 and \(maximumQuota)"
            )
        }
    }

    private static func validatedMilliseconds(of window: Duration) throws(RateLimitPolicyError) -> Int64 {
        func invalid(_ reason: String) -> RateLimitPolicyError {
            RateLimitPolicyError(field: "window", value: "\(window)", reason: reason)
        }
        guard window >= .milliseconds(1) else {
            throw invalid("must be at least 1 millisecond")
        }
        guard window <= maximumWindow else {
            throw invalid("must be at most 366 days")
        }
        guard window.components.attoseconds % Duration.attosecondsPerMillisecond == 0 else {
            throw invalid("must be a whole number of milliseconds")
        }
        return window.truncatedMilliseconds
    }
}
