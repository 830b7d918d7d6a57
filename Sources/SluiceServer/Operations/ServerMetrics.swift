import Synchronization

/// Counters and histograms for `/metrics`, in Prometheus text format. Updated from every loop;
/// each update is one short lock.
public final class ServerMetrics: Sendable {
    private struct State {
        var decisions: [DecisionKey: Int] = [:]
        var storeErrors: [String: Int] = [:]
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
        state.withLock {
            $0.storeErrors[rule, default: 0] += 1
            $0.degradedDecisions[DecisionKey(rule: rule, outcome: policy), default: 0] += 1
        }
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
        var text = "# HELP sluice_decisions_total Rate-limit decisions by rule and outcome.\n"
        text += "# TYPE sluice_decisions_total counter\n"
        for (key, count) in snapshot.decisions.sorted(by: {
            ($0.key.rule, $0.key.outcome) < ($1.key.rule, $1.key.outcome)
        }) {
            text += "sluice_decisions_total{rule=\"\(key.rule)\",outcome=\"\(key.outcome)\"} \(count)\n"
        }
        text += "# HELP sluice_store_errors_total Checks the store could not answer, by rule.\n"
        text += "# TYPE sluice_store_errors_total counter\n"
        for (rule, count) in snapshot.storeErrors.sorted(by: { $0.key < $1.key }) {
            text += "sluice_store_errors_total{rule=\"\(rule)\"} \(count)\n"
        }
        text +=
            "# HELP sluice_degraded_decisions_total Checks decided by the store-failure policy, by rule and policy.\n"
        text += "# TYPE sluice_degraded_decisions_total counter\n"
        for (key, count) in snapshot.degradedDecisions.sorted(by: {
            ($0.key.rule, $0.key.outcome) < ($1.key.rule, $1.key.outcome)
        }) {
            text += "sluice_degraded_decisions_total{rule=\"\(key.rule)\",policy=\"\(key.outcome)\"} \(count)\n"
        }
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
}
