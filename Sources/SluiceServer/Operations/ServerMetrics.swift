import Synchronization

/// Counters and histograms for `/metrics`, in Prometheus text format. Updated from every loop:
/// a rule's decisions with atomic increments (``RuleCounters``), the rest with one short lock.
public final class ServerMetrics: Sendable {
    /// One rule's decision counters, looked up once when the rules are built, so counting a
    /// decision is one atomic add: no lock, no hashing of the rule's name per request.
    public final class RuleCounters: Sendable {
        private let allowed = Atomic<Int>(0)
        private let denied = Atomic<Int>(0)
        private let shadowDenied = Atomic<Int>(0)

        /// Counts one decision: allowed, denied, or denied by a shadow rule (which lets it pass).
        public func record(allowed isAllowed: Bool, shadow: Bool) {
            if isAllowed {
                allowed.add(1, ordering: .relaxed)
            } else if shadow {
                shadowDenied.add(1, ordering: .relaxed)
            } else {
                denied.add(1, ordering: .relaxed)
            }
        }

        /// The outcomes counted so far, by their `/metrics` label; outcomes never seen left out.
        fileprivate var counts: [(outcome: String, count: Int)] {
            [
                ("allowed", allowed.load(ordering: .relaxed)), ("denied", denied.load(ordering: .relaxed)),
                ("shadow_denied", shadowDenied.load(ordering: .relaxed)),
            ].filter { $0.1 > 0 }
        }
    }

    private struct State {
        /// Keyed by rule and the store-failure policy that decided; summed per rule, the store errors.
        var degradedDecisions: [RulePolicy: Int] = [:]
        var latencyBuckets = [Int](repeating: 0, count: ServerMetrics.latencyBounds.count)
        var latencyCount = 0
        var latencySumNanoseconds: UInt64 = 0
    }

    private struct RulePolicy: Hashable {
        var rule: String
        var policy: String
    }

    /// Upper bounds of the decision latency histogram, in seconds.
    static let latencyBounds: [Double] = [0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.5]
    private let state = Mutex(State())
    /// By rule name; kept across reloads, so a rule's counts survive SIGHUP.
    private let rules = Mutex<[String: RuleCounters]>([:])
    private let degraded = Atomic<Bool>(false)
    private let openConnections: @Sendable () -> Int

    /// Metrics whose open-connection gauge reads `openConnections`.
    public init(openConnections: @escaping @Sendable () -> Int = { 0 }) {
        self.openConnections = openConnections
    }

    /// The decision counters of the rule named `rule` (outcomes `allowed`, `denied` and
    /// `shadow_denied` in `/metrics`), made on first use.
    public func counters(forRule rule: String) -> RuleCounters {
        rules.withLock { rules in
            if let counters = rules[rule] { return counters }
            let counters = RuleCounters()
            rules[rule] = counters
            return counters
        }
    }

    /// Counts a check the store could not answer, decided by `policy` instead; true when it
    /// starts a degraded period.
    public func recordStoreFailure(rule: String, policy: String) -> Bool {
        state.withLock { $0.degradedDecisions[RulePolicy(rule: rule, policy: policy), default: 0] += 1 }
        return !degraded.exchange(true, ordering: .relaxed)
    }

    /// Notes that the store answered; true when that ends a degraded period.
    public func recordStoreAnswered() -> Bool {
        degraded.load(ordering: .relaxed) && degraded.exchange(false, ordering: .relaxed)
    }

    /// True between a store failure and the store's next answer.
    public var isStoreDegraded: Bool { degraded.load(ordering: .relaxed) }

    /// Adds one request's total decision time to the histogram.
    public func recordDecisionLatency(nanoseconds: UInt64) {
        let seconds = Double(nanoseconds) / 1e9
        state.withLock { state in
            state.latencyCount += 1
            state.latencySumNanoseconds += nanoseconds
            if let bucket = Self.latencyBounds.firstIndex(where: { seconds <= $0 }) {
                state.latencyBuckets[bucket] += 1
            }
        }
    }

    /// The Prometheus text exposition.
    public func render() -> String {
        let snapshot = state.withLock { $0 }
        let decisions = rules.withLock { $0 }.flatMap { rule, counters in
            counters.counts.map { (#"rule="\#(rule)",outcome="\#($0.outcome)""#, $0.count) }
        }
        var text = ""
        Self.appendCounter(
            "sluice_decisions_total", help: "Rate-limit decisions by rule and outcome.", decisions, to: &text)
        let errorsByRule = snapshot.degradedDecisions.reduce(into: [String: Int]()) {
            $0[$1.key.rule, default: 0] += $1.value
        }
        Self.appendCounter(
            "sluice_store_errors_total", help: "Checks the store could not answer, by rule.",
            errorsByRule.map { (#"rule="\#($0.key)""#, $0.value) }, to: &text)
        Self.appendCounter(
            "sluice_degraded_decisions_total", help: "Checks decided by the store-failure policy, by rule and policy.",
            snapshot.degradedDecisions.map { (#"rule="\#($0.key.rule)",policy="\#($0.key.policy)""#, $0.value) },
            to: &text)
        text += "# HELP sluice_store_degraded 1 while the store fails and store-failure policies decide.\n"
        text += "# TYPE sluice_store_degraded gauge\n"
        text += "sluice_store_degraded \(isStoreDegraded ? 1 : 0)\n"
        text += "# HELP sluice_decision_seconds Time to decide a request (all its rules).\n"
        text += "# TYPE sluice_decision_seconds histogram\n"
        var cumulative = 0
        for (bound, count) in zip(Self.latencyBounds, snapshot.latencyBuckets) {
            cumulative += count
            text += "sluice_decision_seconds_bucket{le=\"\(bound)\"} \(cumulative)\n"
        }
        text += "sluice_decision_seconds_bucket{le=\"+Inf\"} \(snapshot.latencyCount)\n"
        text += "sluice_decision_seconds_sum \(Double(snapshot.latencySumNanoseconds) / 1e9)\n"
        text += "sluice_decision_seconds_count \(snapshot.latencyCount)\n"
        text += "# HELP sluice_open_connections Client connections open now.\n"
        text += "# TYPE sluice_open_connections gauge\n"
        text += "sluice_open_connections \(openConnections())\n"
        return text
    }

    /// Appends one counter family, its series sorted by their labels.
    private static func appendCounter(
        _ name: String, help: String, _ series: [(labels: String, count: Int)], to text: inout String
    ) {
        text += "# HELP \(name) \(help)\n# TYPE \(name) counter\n"
        for (labels, count) in series.sorted(by: { $0.labels < $1.labels }) {
            text += "\(name){\(labels)} \(count)\n"
        }
    }
}
