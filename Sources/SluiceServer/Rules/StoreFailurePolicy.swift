/// What a rule decides when its store (Redis) cannot answer within the decision budget.
///
/// ```swift
/// var rule = ServerConfiguration.defaultRule
/// rule.onStoreFailure = .local  // count in this process until Redis answers again
/// ```
public enum StoreFailurePolicy: String, Sendable, CaseIterable {
    /// Fail open: the request passes, and this rule adds no headers.
    case allow
    /// Fail closed: the request gets 429 with `Retry-After: 1`.
    case deny
    /// This process's in-memory limiter, with the same rule, decides until the store answers
    /// again (each instance then enforces the limit on its own share of the traffic).
    case local

    /// Parses `allow`, `deny` or `local`; an error names `field`.
    public static func parse(_ text: String, field: String) throws(ConfigurationError) -> StoreFailurePolicy {
        guard let policy = StoreFailurePolicy(rawValue: text) else {
            throw ConfigurationError(field: field, message: "\"\(text)\" is not allow, deny or local")
        }
        return policy
    }
}
