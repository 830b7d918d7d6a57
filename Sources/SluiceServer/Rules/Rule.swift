import SluiceLimit

/// One rate-limiting rule: which requests, counted by what, under which policy.
///
/// ```swift
/// let rule = Rule(
///     name: "login", match: RuleMatch(methods: ["POST"], pathPrefix: "/login"), identity: [.clientIP],
///     policy: try RateLimitPolicy(algorithm: .slidingWindow, limit: 5, window: .seconds(60)))
/// ```
public struct Rule: Sendable {
    /// The rule's name: in keys, headers, the 429 body, logs and metrics.
    public var name: String
    /// Which requests it applies to.
    public var match: RuleMatch
    /// What requests are counted by; several sources combine.
    public var identity: [IdentitySource]
    /// Algorithm, limit, window, burst.
    public var policy: RateLimitPolicy
    /// Units each request costs.
    public var cost: Int
    /// Decide and count, but never deny: for trying a rule on live traffic.
    public var shadow: Bool
    /// What to decide when the store cannot answer in time.
    public var onStoreFailure: StoreFailurePolicy

    /// A rule from its parts.
    public init(
        name: String, match: RuleMatch = RuleMatch(), identity: [IdentitySource] = [.clientIP],
        policy: RateLimitPolicy, cost: Int = 1, shadow: Bool = false, onStoreFailure: StoreFailurePolicy = .allow
    ) {
        self.name = name
        self.match = match
        self.identity = identity
        self.policy = policy
        self.cost = cost
        self.shadow = shadow
        self.onStoreFailure = onStoreFailure
    }
}
