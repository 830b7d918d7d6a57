import SluiceHTTP
import SluiceLimit

/// The 429 answer: a small JSON problem document (RFC 9457) naming the rule and the wait.
enum RateLimitedResponse {
    static func make(rule: Rule, decision: Decision) -> HTTPResponse {
        let retry = RateLimitHeaders.retryAfterSeconds(decision)
        let body =
            #"{"type":"about:blank","title":"Too Many Requests","status":429,"#
            + #""detail":"rate limit exceeded","rule":"\#(rule.name)","retry_after":\#(retry)}"# + "\n"
        return HTTPResponse(
            status: 429, headers: [("Content-Type", "application/problem+json")], body: Array(body.utf8))
    }
}
