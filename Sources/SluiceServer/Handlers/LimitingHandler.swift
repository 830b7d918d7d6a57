import SluiceHTTP
import SluiceLimit
import SluiceNet

/// The request path of the server: finds the rules a request matches, checks each with the
/// store on the connection's loop, and answers — 429 with `Retry-After` when a rule denies,
/// otherwise the allowed answer (target mode's local response, or the upstream's) — with the
/// rate-limit headers of the most restrictive rule.
///
/// Rules are checked one after another and checking stops at the first denial, so rules after
/// a denying rule consume nothing; what the rules before it took is refunded, so a denied
/// request consumes from none. When the store fails or exceeds its budget, the rule's
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
    /// `metrics`' counters of each rule, by the rule's index.
    private let counters: [ServerMetrics.RuleCounters]

    /// A handler for `configuration`'s rules on `store`; allowed requests go to `allowedAnswer`;
    /// `localStore` decides for rules whose policy is ``StoreFailurePolicy/local`` while `store` fails.
    public init(
        configuration: ServerConfiguration, store: any RateLimitStore, localStore: MemoryStore = MemoryStore(),
        metrics: ServerMetrics, allowedAnswer: any HTTPRequestHandler, timeSource: any TimeSource = SystemTimeSource()
    ) {
        self.localStore = localStore
        self.rules = configuration.rules
        self.counters = configuration.rules.map { metrics.counters(forRule: $0.name) }
        self.store = store
        self.clientAddresses = configuration.clientAddresses
        self.headerStyle = configuration.headerStyle
        self.metrics = metrics
        self.allowedAnswer = allowedAnswer
        self.timeSource = timeSource
    }

    public func handle(_ request: HTTPRequest, responder: HTTPResponder) {
        let head = request.head
        guard let first = nextMatch(from: 0, head) else {
            allowedAnswer.handle(request, responder: responder)
            return
        }
        let client = clientAddresses.identity(
            of: clientAddresses.clientAddress(
                peer: request.peer, forwardedFor: head.headers.all(name: "X-Forwarded-For"),
                forwarded: head.headers.all(name: "Forwarded")))
        let started = MonotonicClock.now()
        check(at: first, request: request, client: client, checked: []) { [self] checked in
            metrics.recordDecisionLatency(nanoseconds: MonotonicClock.now() - started)
            answer(request, responder: responder, checked: checked)
        }
    }

    /// One rule's decision, with the key and the store that made it, for a refund.
    private struct CheckedRule {
        let rule: Rule
        let key: String
        let decision: Decision
        let store: any RateLimitStore
    }

    /// The index of the first rule at or after `index` that `head` matches.
    private func nextMatch(from index: Int, _ head: HTTPRequestHead) -> Int? {
        rules[index...].firstIndex { $0.match.matches(method: head.method, host: head.host, path: head.path) }
    }

    /// Checks rule `index`, which the request matches, then the next matching one.
    private func check(
        at index: Int, request: HTTPRequest, client: String, checked: [CheckedRule],
        completion: @escaping ([CheckedRule]) -> Void
    ) {
        let rule = rules[index]
        let key = RateLimitKey.make(rule: rule.name, identity: identity(for: rule, request: request, client: client))
        let decided: (Decision?, any RateLimitStore) -> Void = { [self] decision, store in
            var checked = checked
            if let decision {
                counters[index].record(allowed: decision.allowed, shadow: rule.shadow)
                checked.append(CheckedRule(rule: rule, key: key, decision: decision, store: store))
                if !decision.allowed && !rule.shadow {
                    refundAllowed(checked, loop: request.loop)
                    return completion(checked)
                }
            }
            guard let next = nextMatch(from: index + 1, request.head) else { return completion(checked) }
            check(at: next, request: request, client: client, checked: checked, completion: completion)
        }
        store.check(policy: rule.policy, key: key, cost: rule.cost, on: request.loop) { [self] result in
            switch result {
            case .success(let decision):
                if metrics.recordStoreAnswered() { ServerLog.event("store_degraded_end", ["rule": rule.name]) }
                decided(decision, store)
            case .failure(let error):
                if metrics.recordStoreFailure(rule: rule.name, policy: rule.onStoreFailure.rawValue) {
                    ServerLog.event(
                        "store_degraded_start",
                        ["rule": rule.name, "policy": rule.onStoreFailure.rawValue, "error": error.description])
                }
                decideWithoutStore(rule, key: key, loop: request.loop) { [localStore] in decided($0, localStore) }
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

    /// Gives back what the rules before a denial took. The answer does not wait for the refunds;
    /// a failed one is logged and leaves its units taken (denying early, never allowing extra).
    private func refundAllowed(_ checked: [CheckedRule], loop: EventLoop) {
        for entry in checked {
            guard let countedAt = entry.decision.countedAt else { continue }
            entry.store.refund(
                policy: entry.rule.policy, key: entry.key, cost: entry.rule.cost, countedAt: countedAt, on: loop
            ) { result in
                if case .failure(let error) = result {
                    ServerLog.event("refund_failed", ["rule": entry.rule.name, "error": error.description])
                }
            }
        }
    }

    /// The rule's identity sources' values, joined by `|` when there are several.
    private func identity(for rule: Rule, request: HTTPRequest, client: String) -> String {
        func value(of source: IdentitySource) -> String {
            switch source {
            case .clientIP: client
            case .path: request.head.path
            case .header(let name): request.head.headers.first(name: name) ?? "-"
            }
        }
        // One source (most rules): its value as it is, without building an array to join.
        return rule.identity.count == 1 ? value(of: rule.identity[0]) : rule.identity.map(value).joined(separator: "|")
    }

    private func answer(_ request: HTTPRequest, responder: HTTPResponder, checked: [CheckedRule]) {
        let enforced = checked.filter { !$0.rule.shadow }.map { ($0.rule, $0.decision) }
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
