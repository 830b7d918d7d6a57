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
    /// True when time comes from the system clock, so the loop's once-per-iteration reading can stand in.
    private let usesSystemClock: Bool
    private let metrics: ServerMetrics
    private let allowedAnswer: any HTTPRequestHandler
    /// `metrics`' counters of each rule, by the rule's index.
    private let counters: [ServerMetrics.RuleCounters]
    /// Whether each rule has the default match (``RuleMatch/coversEveryPath``), by the rule's
    /// index: reading a rule's match out of ``rules`` retains and releases its strings.
    private let coversEveryPath: [Bool]

    /// A handler for `configuration`'s rules on `store`; allowed requests go to `allowedAnswer`;
    /// `localStore` decides for rules whose policy is ``StoreFailurePolicy/local`` while `store` fails.
    public init(
        configuration: ServerConfiguration, store: any RateLimitStore, localStore: MemoryStore = MemoryStore(),
        metrics: ServerMetrics, allowedAnswer: any HTTPRequestHandler, timeSource: any TimeSource = SystemTimeSource()
    ) {
        self.localStore = localStore
        self.rules = configuration.rules
        self.counters = configuration.rules.map { metrics.counters(forRule: $0.name) }
        self.coversEveryPath = configuration.rules.map(\.match.coversEveryPath)
        self.store = store
        self.clientAddresses = configuration.clientAddresses
        self.headerStyle = configuration.headerStyle
        self.metrics = metrics
        self.allowedAnswer = allowedAnswer
        self.timeSource = timeSource
        self.usesSystemClock = timeSource is SystemTimeSource
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
        check(at: first, RuleChecks(handler: self, request: request, responder: responder, client: client))
    }

    /// One rule's decision, for the answer and for a refund. No reference in it, so keeping and
    /// copying one costs no reference counting.
    private struct CheckedRule {
        /// The rule's index in ``rules``.
        let index: Int
        let decision: Decision
        /// Made by the local store while the shared one failed: a refund goes there.
        let decidedLocally: Bool
    }

    /// One request on its way through the rules it matches: one object per request, which the
    /// store callbacks carry from rule to rule. It keeps what the answer needs as it goes (the
    /// enforced rule with the least remaining), so a request that matches one rule keeps no list.
    /// Its state is loop-confined and no access to it spans a call, hence unchecked exclusivity.
    private final class RuleChecks {
        let handler: LimitingHandler
        let request: HTTPRequest
        let responder: HTTPResponder
        /// The client's identity (its address, grouped by prefix for IPv6).
        let client: String
        let started = MonotonicClock.now()
        /// The rule being checked, and its key.
        @exclusivity(unchecked) var index = 0
        @exclusivity(unchecked) var key = ""
        /// The allowed, enforced rule with the least remaining: its headers go with the answer.
        @exclusivity(unchecked) var tightest: CheckedRule?
        /// Checks that took units and their keys, to refund if a later rule denies; kept only while
        /// rules remain.
        @exclusivity(unchecked) var counted: [(rule: CheckedRule, key: String)] = []

        init(handler: LimitingHandler, request: HTTPRequest, responder: HTTPResponder, client: String) {
            self.handler = handler
            self.request = request
            self.responder = responder
            self.client = client
        }
    }

    /// The index of the first rule at or after `index` that `head` matches.
    private func nextMatch(from index: Int, _ head: HTTPRequestHead) -> Int? {
        // By index: iterating the slice copied every rule it passed.
        for candidate in index..<rules.count
        where coversEveryPath[candidate]
            ? head.path.utf8.first == UInt8(ascii: "/")
            : rules[candidate].match.matches(method: head.method, host: head.host, path: head.path)
        {
            return candidate
        }
        return nil
    }

    /// Checks rule `index`, which the request matches; ``stored(_:_:)`` goes on.
    private func check(at index: Int, _ checks: RuleChecks) {
        let identity = identity(from: rules[index].identity, request: checks.request, client: checks.client)
        checks.index = index
        checks.key = RateLimitKey.make(rule: rules[index].name, identity: identity)
        // The callback holds only `checks`, so it needs no context of its own.
        store.check(policy: rules[index].policy, key: checks.key, cost: rules[index].cost, on: checks.request.loop) {
            checks.handler.stored($0, checks)
        }
    }

    /// The store's answer for the rule being checked, or its store-failure policy's.
    private func stored(_ result: Result<Decision, RateLimitError>, _ checks: RuleChecks) {
        switch result {
        case .success(let decision):
            if metrics.recordStoreAnswered() {
                ServerLog.event("store_degraded_end", ["rule": rules[checks.index].name])
            }
            decided(decision, locally: false, checks)
        case .failure(let error):
            let rule = rules[checks.index]
            if metrics.recordStoreFailure(rule: rule.name, policy: rule.onStoreFailure.rawValue) {
                ServerLog.event(
                    "store_degraded_start",
                    ["rule": rule.name, "policy": rule.onStoreFailure.rawValue, "error": error.description])
            }
            decideWithoutStore(rule, key: checks.key, loop: checks.request.loop) { [self] decision in
                decided(decision, locally: true, checks)
            }
        }
    }

    /// Records the decision of the rule being checked (nil: its store-failure policy let the
    /// request pass undecided), then answers at an enforced denial or after the last matching
    /// rule, else checks the next.
    private func decided(_ decision: Decision?, locally: Bool, _ checks: RuleChecks) {
        let index = checks.index
        let checked = decision.map { CheckedRule(index: index, decision: $0, decidedLocally: locally) }
        if let checked {
            let shadow = rules[index].shadow
            counters[index].record(allowed: checked.decision.allowed, shadow: shadow)
            if !shadow && !checked.decision.allowed {
                refund(checks.counted, loop: checks.request.loop)
                return answer(checks, denial: checked)
            }
            if !shadow && checks.tightest.map({ checked.decision.remaining < $0.decision.remaining }) ?? true {
                checks.tightest = checked
            }
        }
        guard let next = nextMatch(from: index + 1, checks.request.head) else { return answer(checks, denial: nil) }
        if let checked, checked.decision.countedAt != nil { checks.counted.append((checked, checks.key)) }
        check(at: next, checks)
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
    private func refund(_ counted: [(rule: CheckedRule, key: String)], loop: EventLoop) {
        for (checked, key) in counted {
            guard let countedAt = checked.decision.countedAt else { continue }
            let rule = rules[checked.index]
            let refunding: any RateLimitStore = checked.decidedLocally ? localStore : store
            refunding.refund(policy: rule.policy, key: key, cost: rule.cost, countedAt: countedAt, on: loop) {
                result in
                if case .failure(let error) = result {
                    ServerLog.event("refund_failed", ["rule": rule.name, "error": error.description])
                }
            }
        }
    }

    /// The values of a rule's identity sources, joined by `|` when there are several.
    private func identity(from sources: [IdentitySource], request: HTTPRequest, client: String) -> String {
        func value(of source: IdentitySource) -> String {
            switch source {
            case .clientIP: client
            case .path: request.head.path
            case .header(let name): request.head.headers.first(name: name) ?? "-"
            }
        }
        // One source (most rules): its value as it is, without building an array to join.
        return sources.count == 1 ? value(of: sources[0]) : sources.map(value).joined(separator: "|")
    }

    /// Answers the request: the 429 of the enforced `denial`, else the allowed answer with the
    /// headers of the enforced rule with the least remaining. Shadow rules never show.
    private func answer(_ checks: RuleChecks, denial: CheckedRule?) {
        metrics.recordDecisionLatency(nanoseconds: MonotonicClock.now() - checks.started)
        let now = usesSystemClock ? checks.request.loop.tickWallClockMilliseconds : timeSource.nowMilliseconds()
        if let denial {
            let rule = rules[denial.index]
            let fields = RateLimitHeaders.fields(
                for: denial.decision, rule: rule, nowMilliseconds: now, style: headerStyle)
            checks.responder.addingHeaders(fields).respond(
                RateLimitedResponse.make(rule: rule, decision: denial.decision))
            return
        }
        guard let tightest = checks.tightest else {
            allowedAnswer.handle(checks.request, responder: checks.responder)
            return
        }
        let fields = RateLimitHeaders.fields(
            for: tightest.decision, ruleName: rules[tightest.index].name,
            windowMilliseconds: rules[tightest.index].policy.windowMilliseconds, nowMilliseconds: now,
            style: headerStyle)
        allowedAnswer.handle(checks.request, responder: checks.responder.addingHeaders(fields))
    }
}
