import SluiceRedis

/// Builds the key of one identity under one rule: `<rule>:{<identity>}`.
///
/// The identity sits inside a Redis Cluster hash tag, so every key of one identity (a fixed
/// window's counters, a log and its sequence) lands in one slot. Identities longer than
/// ``maximumIdentityLength`` bytes are replaced by their SHA-1, so a hostile header cannot make
/// keys of unbounded size.
///
/// ```swift
/// RateLimitKey.make(rule: "api", identity: "203.0.113.7")  // "api:{203.0.113.7}"
/// ```
public enum RateLimitKey {
    /// Identities up to this many UTF-8 bytes are kept as they are.
    public static let maximumIdentityLength = 128

    /// The key for `identity` under `rule`.
    public static func make(rule: String, identity: String) -> String {
        let kept = identity.utf8.count <= maximumIdentityLength ? identity : "sha1:" + SHA1.hexDigest(identity.utf8)
        return KeyText.join(rule, ":{", kept, "}")
    }
}
