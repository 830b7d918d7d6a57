import SluiceHTTP
import SluiceLimit
import SluiceNet

/// The 429 answer: a small JSON problem document (RFC 9457) naming the rule and the wait.
///
/// The body is written as bytes: a denied flood is answered at full speed, so building the
/// document as a `String` per answer was a tenth of the server's time under one.
enum RateLimitedResponse {
    private static let opening = Array(
        #"{"type":"about:blank","title":"Too Many Requests","status":429,"detail":"rate limit exceeded","rule":""#
            .utf8)

    private static let headers: HTTPFieldLines = [("Content-Type", "application/problem+json")]

    static func make(rule: Rule, decision: Decision) -> HTTPResponse {
        var body = opening
        // The name, then `","retry_after":` (16 bytes), at most 20 digits and `}\n`: one allocation.
        body.reserveCapacity(opening.count + rule.name.utf8.count + 38)
        body.appendUTF8(rule.name)
        body.appendUTF8(#"","retry_after":"#)
        body.appendDecimal(RateLimitHeaders.retryAfterSeconds(decision))
        body.append(literal: "}\n")
        return HTTPResponse(status: 429, headers: headers, body: body)
    }
}
