/// A rate limiter you can call from your own code: a policy, a rule name and a store.
///
/// ```swift
/// import SluiceLimit
///
/// let limiter = try RateLimiter(
///     name: "login", algorithm: .slidingWindow, limit: 5, window: .seconds(60), store: MemoryStore())
/// let decision = try await limiter.check(key: "user-42")
/// if !decision.allowed {
///     print("try again in \(decision.retryAfter)")
/// }
/// ```
///
/// Share Redis between processes with ``RedisStore``:
/// `RedisStore(client: try RedisClient(url: "redis://127.0.0.1:6379"))`.
public struct RateLimiter: Sendable {
    /// The rule name; part of every key, so two limiters with different names never share counts.
    public let name: String
    /// What is enforced.
    public let policy: RateLimitPolicy
    /// Where counts live.
    public let store: any RateLimitStore

    /// A limiter for an existing policy.
    public init(name: String, policy: RateLimitPolicy, store: any RateLimitStore) {
        self.name = name
        self.policy = policy
        self.store = store
    }

    /// A limiter from its parts; throws ``RateLimitPolicyError`` for a zero, negative or huge
    /// limit, a window under 1 ms, or a burst on an algorithm that has none.
    public init(
        name: String, algorithm: RateLimitAlgorithm, limit: Int, window: Duration, burst: Int? = nil,
        store: any RateLimitStore
    ) throws(RateLimitPolicyError) {
        self.init(
            name: name, policy: try RateLimitPolicy(algorithm: algorithm, limit: limit, window: window, burst: burst),
            store: store)
    }

    /// Checks one request from `key` (a client IP, an API key, a user id) costing `cost` units.
    /// A denied request consumes nothing.
    public func check(key: String, cost: Int = 1) async throws(RateLimitError) -> Decision {
        precondition(cost >= 1, "a request costs at least 1 unit")
        return try await store.check(policy: policy, key: RateLimitKey.make(rule: name, identity: key), cost: cost)
    }

    /// Gives back what an allowed ``check(key:cost:)`` took, for when a later check (another
    /// limiter) turns the same request away; a denial took nothing, so refunding one does nothing.
    ///
    /// ```swift
    /// let perUser = try await userLimiter.check(key: "user-42")
    /// let perRoute = try await routeLimiter.check(key: "/search")
    /// if perUser.allowed && !perRoute.allowed {
    ///     try await userLimiter.refund(perUser, key: "user-42")
    /// }
    /// ```
    public func refund(_ decision: Decision, key: String, cost: Int = 1) async throws(RateLimitError) {
        guard let countedAt = decision.countedAt else { return }
        try await store.refund(
            policy: policy, key: RateLimitKey.make(rule: name, identity: key), cost: cost, countedAt: countedAt)
    }
}
