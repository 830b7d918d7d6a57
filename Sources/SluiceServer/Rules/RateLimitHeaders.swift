import SluiceHTTP
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
/// fields.pairs  // [("X-RateLimit-Limit", "100"), ("X-RateLimit-Remaining", "99"), ("X-RateLimit-Reset", "1700000060")]
/// ```
public enum RateLimitHeaders {
    /// `X-RateLimit-Limit/-Remaining/-Reset`, `Retry-After` on a denial (whole seconds, rounded up,
    /// at least 1), and the draft fields when asked. Numbers are written as digits straight into
    /// the lines (this runs for every limited answer).
    public static func fields(
        for decision: Decision, rule: Rule, nowMilliseconds: Int64, style: RateLimitHeaderStyle
    ) -> HTTPFieldLines {
        fields(
            for: decision, ruleName: rule.name, windowMilliseconds: rule.policy.windowMilliseconds,
            nowMilliseconds: nowMilliseconds, style: style)
    }

    /// The fields of ``fields(for:rule:nowMilliseconds:style:)`` from the two parts of the rule
    /// they use: the server reads them in place, where taking a rule out of the rules copies it.
    static func fields(
        for decision: Decision, ruleName: String, windowMilliseconds: Int64, nowMilliseconds: Int64,
        style: RateLimitHeaderStyle
    ) -> HTTPFieldLines {
        let resetSeconds = secondsRoundedUp(milliseconds: decision.resetAfterMilliseconds)
        // The instant the quota is whole again, rounded up to a whole second.
        let reset =
            style.resetAsDelta
            ? resetSeconds : secondsRoundedUp(milliseconds: nowMilliseconds + max(0, decision.resetAfterMilliseconds))
        // Names, separators and numbers of at most 20 digits; the draft fields add the rule's name twice.
        let capacity = 200 + (style.draftFields ? 2 * ruleName.utf8.count + 160 : 0)
        return HTTPFieldLines(capacity: capacity) { fields in
            fields.append(name: "X-RateLimit-Limit", value: Int64(decision.limit))
            fields.append(name: "X-RateLimit-Remaining", value: Int64(decision.remaining))
            fields.append(name: "X-RateLimit-Reset", value: reset)
            if !decision.allowed {
                fields.append(name: "Retry-After", value: retryAfterSeconds(decision))
            }
            if style.draftFields {
                let window = max(1, secondsRoundedUp(milliseconds: windowMilliseconds))
                fields.append(name: "RateLimit-Policy", value: "\"\(ruleName)\";q=\(decision.limit);w=\(window)")
                fields.append(name: "RateLimit", value: "\"\(ruleName)\";r=\(decision.remaining);t=\(resetSeconds)")
            }
        }
    }

    /// `Retry-After` for a denial: seconds rounded up, never below 1.
    public static func retryAfterSeconds(_ decision: Decision) -> Int64 {
        max(1, secondsRoundedUp(milliseconds: decision.retryAfterMilliseconds))
    }

    static func secondsRoundedUp(milliseconds: Int64) -> Int64 {
        milliseconds <= 0 ? 0 : (milliseconds - 1) / 1000 + 1
    }
}
