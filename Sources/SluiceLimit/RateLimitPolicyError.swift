/// A ``RateLimitPolicy`` that cannot be enforced: which field, the value given, and what is allowed.
///
/// ```swift
/// do {
///     _ = try RateLimitPolicy(algorithm: .fixedWindow, limit: 0, window: .seconds(1))
/// } catch {
///     print(error)  // invalid rate limit: limit = 0: must be between 1 and 1000000000
/// }
/// ```
public struct RateLimitPolicyError: Error, Sendable, Hashable, CustomStringConvertible {
    /// The name of the offending field: `"limit"`, `"window"` or `"burst"`.
    public var field: String
    /// The rejected value, as given.
    public var value: String
    /// What the field must be instead.
    public var reason: String

    /// Creates an error for `field` having been given `value`, which violates `reason`.
    public init(field: String, value: String, reason: String) {
        self.field = field
        self.value = value
        self.reason = reason
    }

    /// A one-line message naming the field, the value and the rule it broke.
    public var description: String {
        "invalid rate limit: \(field) = \(value): \(reason)"
    }
}
