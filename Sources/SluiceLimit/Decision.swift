/// The answer to one rate-limit check, with everything needed for the `X-RateLimit-*` and `Retry-After` headers.
///
/// ```swift
/// let decision = store.check(policy: policy, key: "client-42", cost: 1)
/// if !decision.allowed {
///     print("429, retry in \(decision.retryAfter)")
/// }
/// ```
public struct Decision: Sendable, Hashable {
    /// Whether the request may proceed. A denied request consumed nothing.
    public var allowed: Bool
    /// The quota the request was checked against: the policy's `limit`, or its `burst` for the token bucket.
    public var limit: Int
    /// Units still available right after this decision; never negative.
    public var remaining: Int
    /// Time until the quota is fully restored if nothing more is consumed; zero when it already is.
    public var resetAfter: Duration {
        get { .milliseconds(resetAfterMilliseconds) }
        set { resetAfterMilliseconds = newValue.roundedUpMilliseconds }
    }
    /// For a denial, the time until this same request (same cost) would be allowed if nothing else is consumed;
    /// zero when allowed.
    ///
    /// A request whose cost exceeds the quota can never be allowed; its `retryAfter` is then its `resetAfter`.
    public var retryAfter: Duration {
        get { .milliseconds(retryAfterMilliseconds) }
        set { retryAfterMilliseconds = newValue.roundedUpMilliseconds }
    }
    /// ``resetAfter`` in whole milliseconds, the resolution of every store. Times are kept in this form because a
    /// `Duration` costs 128-bit arithmetic to make and to read, and a server makes and reads one per request.
    public var resetAfterMilliseconds: Int64
    /// ``retryAfter`` in whole milliseconds.
    public var retryAfterMilliseconds: Int64
    /// For an allowed request, when the store counted its units, in milliseconds since the epoch on
    /// the store's clock: what ``RateLimitStore/refund(policy:key:cost:countedAt:on:completion:)`` needs to
    /// give them back. Nil for a denial, and for an answer no store counted.
    public var countedAt: Int64?

    /// Creates a decision from its parts; the times are kept in whole milliseconds, rounded up.
    public init(
        allowed: Bool, limit: Int, remaining: Int, resetAfter: Duration, retryAfter: Duration, countedAt: Int64? = nil
    ) {
        self.init(
            allowed: allowed, limit: limit, remaining: remaining,
            resetAfterMilliseconds: resetAfter.roundedUpMilliseconds,
            retryAfterMilliseconds: retryAfter.roundedUpMilliseconds, countedAt: countedAt)
    }

    /// Creates a decision from its parts, the times in milliseconds.
    public init(
        allowed: Bool, limit: Int, remaining: Int, resetAfterMilliseconds: Int64, retryAfterMilliseconds: Int64,
        countedAt: Int64? = nil
    ) {
        self.allowed = allowed
        self.limit = limit
        self.remaining = remaining
        self.resetAfterMilliseconds = resetAfterMilliseconds
        self.retryAfterMilliseconds = retryAfterMilliseconds
        self.countedAt = countedAt
    }
}
