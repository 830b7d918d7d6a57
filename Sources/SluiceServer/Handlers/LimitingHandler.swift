import SluiceHTTP
import SluiceLimit
import SluiceNet

/// The request path of the server: finds the rules a request matches, checks each with the
/// store on the connection's loop, and answers — 429 with `Retry-After` when a rule denies,
/// otherwise the allowed answer (target mode's local response, or the upstream's) — with the
/// rate-limit headers of the most restrictive rule.
///
/// Rules are checked one after another and checking stops at the first denial, so rules after
/// a denying rule consume nothing. When the store fails or exceeds its budget, the rule's
/// ``StoreFailurePolicy`` decides; the first such failure after a healthy period logs
/// `store_degraded_start`, the first answer after it `store_degraded_end`.
public final class LimitingHandler: HTTPRequestHandler {
    /// The rules in force.
    public let rules: [Rule]
    private let store: any RateLimitStore
    private let localStore: MemoryStore
    private let clientAddresses: ClientAddressResolver
    private let headerStyle: RateLimitHeaderStyle
    private let timeSource: any TimeSource
    private let metrics: ServerMetrics
    private let allowedAnswer: any HTTPRequestHandler

    /// A handler for `configuration`'s rules on `store`; allowed requests go to `allowedAnswer`;
    /// `localStore` decides for rules whose policy is ``StoreFailurePolicy/local`` while `store` fails.
    public init(
        configuration: ServerConfiguration, store: any RateLimitStore, localStore: MemoryStore = MemoryStore(),
        metrics: ServerMetrics, allowedAnswer: any HTTPRequestHandler, timeSource: any TimeSource = SystemTimeSource()
    ) {
        self.localStore = localStore
        self.rules = configuration.rules
        self.store = store
        self.clientAddresses = configuration.clientAddresses
        self.headerStyle = configuration.headerStyle
        self.metrics = metrics
        self.allowedAnswer = allowedAnswer
        self.timeSource = timeSource
    }

    public func handle(_ request: HTTPRequest, responder: HTTPResponder) {
        let head = request.head
        let matched = rules.filter { $0.match.matches(method: head.method, host: head.host, path: head.path) }
        guard !matched.isEmpty else {
            allowedAnswer.handle(request, responder: responder)
            return
        }
        let client = clientAddresses.identity(
            of: clientAddresses.clientAddress(
                peer: request.peer, forwardedFor: head.headers.all(name: "X-Forwarded-For"),
                forwarded: head.headers.all(name: "Forwarded")))
        let started = MonotonicClock.now()
        check(matched, at: 0, request: request, client: client, decisions: []) { [self] decisions in
            metrics.recordDecisionLatency(nanoseconds: MonotonicClock.now() - started)
            answer(request, responder: responder, decisions: decisions)
        }
    }

    private func check(
        _ rules: [Rule], at index: Int, request: HTTPRequest, client: String, decisions: [(Rule, Decision)],
        completion: @escaping ([(Rule, Decision)]) -> Void
    ) {
        guard index < rules.count else { return completion(decisions) }
        let rule = rules[index]
        let key = RateLimitKey.make(rule: rule.name, identity: identity(for: rule, request: request, client: client))
        let decided: (Decision?) -> Void = { [self] decision in
            var decisions = decisions
            if let decision {
                metrics.recordDecision(rule: rule.name, allowed: decision.allowed, shadow: rule.shadow)
                decisions.append((rule, decision))
                if !decision.allowed && !rule.shadow { return completion(decisions) }
            }
            check(rules, at: index + 1, request: request, client: client, decisions: decisions, completion: completion)
        }
        store.check(policy: rule.policy, key: key, cost: rule.cost, on: request.loop) { [self] result in
            switch result {
            case .success(let decision):
                if metrics.recordStoreAnswered() { ServerLog.event("store_degraded_end", ["rule": rule.name]) }
                decided(decision)
            case .failure(let error):
                if metrics.recordStoreFailure(rule: rule.name, policy: rule.onStoreFailure.rawValue) {
                    ServerLog.event(
                        "store_degraded_start",
                        ["rule": rule.name, "policy": rule.onStoreFailure.rawValue, "error": error.description])
                }
                decideWithoutStore(rule, key: key, loop: request.loop, then: decided)
            }
        }
    }

    /// The rule's store-failure policy: pass without a decision, deny for a second, or ask the
    /// in-memory store.
    private func decideWithoutStore(
        _ rule: Rule, key: String, loop: EventLoop, then decided: @escaping (Decision?) -> Void
    ) {
        switch rule.onStoreFailure {
        case .allow:
            decided(nil)
        case .deny:
            decided(
                Decision(
                    allowed: false, limit: rule.policy.burst, remaining: 0, resetAfter: .seconds(1),
                    retryAfter: .seconds(1)))
        case .local:
            localStore.check(policy: rule.policy, key: key, cost: rule.cost, on: loop) { result in
                decided(try? result.get())
            }
        }
    }

    private func identity(for rule: Rule, request: HTTPRequest, client: String) -> String {
        rule.identity.map { source in
            switch source {
            case .clientIP: client
            case .path: request.head.path
            case .header(let name): request.head.headers.first(name: name) ?? "-"
            }
        }.joined(separator: "|")
    }

    private func answer(_ request: HTTPRequest, responder: HTTPResponder, decisions: [(Rule, Decision)]) {
        let enforced = decisions.filter { !$0.0.shadow }
        let now = timeSource.nowMilliseconds()
        if let (rule, denial) = enforced.filter({ !$0.1.allowed }).max(by: { $0.1.retryAfter < $1.1.retryAfter }) {
            var response = RateLimitedResponse.make(rule: rule, decision: denial)
            response.headers += RateLimitHeaders.fields(
                for: denial, rule: rule, nowMilliseconds: now, style: headerStyle)
            responder.respond(response)
            return
        }
        guard let (rule, tightest) = enforced.min(by: { $0.1.remaining < $1.1.remaining }) else {
            allowedAnswer.handle(request, responder: responder)
            return
        }
        let fields = RateLimitHeaders.fields(for: tightest, rule: rule, nowMilliseconds: now, style: headerStyle)
        allowedAnswer.handle(request, responder: responder.addingHeaders(fields))
    }
}
