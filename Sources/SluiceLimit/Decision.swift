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
    public var resetAfter: Duration
    /// For a denial, the time until this same request (same cost) would be allowed if nothing else is consumed;
    /// zero when allowed.
    ///
    /// A request whose cost exceeds the quota can never be allowed; its `retryAfter` is then its `resetAfter`.
    public var retryAfter: Duration
    /// For an allowed request, when the store counted its units, in milliseconds since the epoch on
    /// the store's clock: what ``RateLimitStore/refund(policy:key:cost:countedAt:on:completion:)`` needs to
    /// give them back. Nil for a denial, and for an answer no store counted.
    public var countedAt: Int64?

    /// Creates a decision from its parts.
    public init(
        allowed: Bool, limit: Int, remaining: Int, resetAfter: Duration, retryAfter: Duration, countedAt: Int64? = nil
    ) {
        self.allowed = allowed
        self.limit = limit
        self.remaining = remaining
        self.resetAfter = resetAfter
        self.retryAfter = retryAfter
        self.countedAt = countedAt
    }
}
