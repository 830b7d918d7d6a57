import Synchronization

/// Counters and histograms for `/metrics`, in Prometheus text format. Updated from every loop;
/// each update is one short lock.
public final class ServerMetrics: Sendable {
    private struct State {
        var decisions: [DecisionKey: Int] = [:]
        /// Keyed by rule and the store-failure policy that decided; summed per rule, the store errors.
        var degradedDecisions: [DecisionKey: Int] = [:]
        var latencyBuckets = [Int](repeating: 0, count: ServerMetrics.latencyBounds.count)
        var latencyCount = 0
        var latencySumNanoseconds: UInt64 = 0
    }

    private struct DecisionKey: Hashable {
        var rule: String
        var outcome: String
    }

    /// Upper bounds of the decision latency histogram, in seconds.
    static let latencyBounds: [Double] = [0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.5]
    private let state = Mutex(State())
    private let degraded = Atomic<Bool>(false)
    private let openConnections: @Sendable () -> Int

    /// Metrics whose open-connection gauge reads `openConnections`.
    public init(openConnections: @escaping @Sendable () -> Int = { 0 }) {
        self.openConnections = openConnections
    }

    /// Counts one rule decision: outcome `allowed`, `denied` or `shadow_denied`.
    public func recordDecision(rule: String, allowed: Bool, shadow: Bool) {
        let outcome = allowed ? "allowed" : (shadow ? "shadow_denied" : "denied")
        state.withLock { $0.decisions[DecisionKey(rule: rule, outcome: outcome), default: 0] += 1 }
    }

    /// Counts a check the store could not answer, decided by `policy` instead; true when it
    /// starts a degraded period.
    public func recordStoreFailure(rule: String, policy: String) -> Bool {
        state.withLock { $0.degradedDecisions[DecisionKey(rule: rule, outcome: policy), default: 0] += 1 }
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
        var text = ""
        Self.appendCounter(
            "sluice_decisions_total", help: "Rate-limit decisions by rule and outcome.",
            snapshot.decisions.map { (#"rule="\#($0.key.rule)",outcome="\#($0.key.outcome)""#, $0.value) }, to: &text)
        let errorsByRule = snapshot.degradedDecisions.reduce(into: [String: Int]()) {
            $0[$1.key.rule, default: 0] += $1.value
        }
        Self.appendCounter(
            "sluice_store_errors_total", help: "Checks the store could not answer, by rule.",
            errorsByRule.map { (#"rule="\#($0.key)""#, $0.value) }, to: &text)
        Self.appendCounter(
            "sluice_degraded_decisions_total", help: "Checks decided by the store-failure policy, by rule and policy.",
            snapshot.degradedDecisions.map { (#"rule="\#($0.key.rule)",policy="\#($0.key.outcome)""#, $0.value) },
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
