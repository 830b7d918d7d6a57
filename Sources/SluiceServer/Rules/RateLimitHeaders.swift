import SluiceLimit

/// How the rate-limit header fields are written.
public struct RateLimitHeaderStyle: Sendable, Hashable {
    /// `X-RateLimit-Reset` as Unix seconds (the default) or as seconds from now.
    public var resetAsDelta = false
    /// Also send the IETF draft's `RateLimit-Policy` and `RateLimit` fields.
    public var draftFields = false

    /// The defaults: Unix-seconds reset, no draft fields.
    public init(resetAsDelta: Bool = false, draftFields: Bool = false) {
        self.resetAsDelta = resetAsDelta
        self.draftFields = draftFields
    }
}

/// The header fields that describe a decision to the client.
///
/// ```swift
/// let fields = RateLimitHeaders.fields(for: decision, rule: rule, nowMilliseconds: now, style: .init())
/// // [("X-RateLimit-Limit", "100"), ("X-RateLimit-Remaining", "99"), ("X-RateLimit-Reset", "1700000060")]
/// ```
public enum RateLimitHeaders {
    /// `X-RateLimit-Limit/-Remaining/-Reset`, `Retry-After` on a denial (whole seconds, rounded up,
    /// at least 1), and the draft fields when asked.
    public static func fields(
        for decision: Decision, rule: Rule, nowMilliseconds: Int64, style: RateLimitHeaderStyle
    ) -> [(String, String)] {
        let resetSeconds = secondsRoundedUp(decision.resetAfter)
        let reset = style.resetAsDelta ? resetSeconds : (nowMilliseconds + 999) / 1000 + resetSeconds
        var fields = [
            ("X-RateLimit-Limit", String(decision.limit)),
            ("X-RateLimit-Remaining", String(decision.remaining)),
            ("X-RateLimit-Reset", String(reset)),
        ]
        if !decision.allowed {
            fields.append(("Retry-After", String(retryAfterSeconds(decision))))
        }
        if style.draftFields {
            let window = max(1, secondsRoundedUp(rule.policy.window))
            fields.append(("RateLimit-Policy", "\"\(rule.name)\";q=\(decision.limit);w=\(window)"))
            fields.append(("RateLimit", "\"\(rule.name)\";r=\(decision.remaining);t=\(resetSeconds)"))
        }
        return fields
    }

    /// `Retry-After` for a denial: seconds rounded up, never below 1.
    public static func retryAfterSeconds(_ decision: Decision) -> Int64 {
        max(1, secondsRoundedUp(decision.retryAfter))
    }

    static func secondsRoundedUp(_ duration: Duration) -> Int64 {
        let (seconds, attoseconds) = duration.components
        return max(0, attoseconds > 0 ? seconds + 1 : seconds)
    }
}
