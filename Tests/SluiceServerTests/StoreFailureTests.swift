import Foundation
import SluiceLimit
import SluiceNet
import SluiceServer
import SluiceTestSupport
import Testing

/// Redis stopped under a running server: each store-failure policy does what it says, every
/// decision stays within the budget, and Redis takes over again soon after it is back.
@Suite struct StoreFailureTests {
    @Test(arguments: StoreFailurePolicy.allCases)
    func eachPolicyHoldsWhileRedisIsGoneAndRedisReturns(policy: StoreFailurePolicy) async throws {
        let redis = try RedisServer()
        defer { redis.stop() }
        var rule = ServerEndToEndTests.rule(.fixedWindow, limit: 3)
        rule.onStoreFailure = policy
        try await ServerEndToEndTests.withApp(rules: [rule], store: redis.url, storeBudget: .milliseconds(50)) {
            app, port, admin in
            // The app connects every loop at start; wait for that, so no check races the connect.
            for _ in 0..<100 where try RawHTTPClient(port: admin).get("/readyz").status != 200 {
                try await Task.sleep(for: .milliseconds(20))
            }
            try await Task.sleep(for: .milliseconds(200))
            let client = try RawHTTPClient(port: port)
            let warm = try client.get("/")
            #expect(warm.status == 200 && warm.header("X-RateLimit-Remaining") == "2", "Redis answered")

            redis.stop()
            let answers = try (0..<6).map { _ in try client.get("/") }
            switch policy {
            case .allow:
                #expect(answers.map(\.status) == [200, 200, 200, 200, 200, 200])
                #expect(answers.allSatisfy { $0.header("X-RateLimit-Remaining") == nil })
            case .deny:
                #expect(answers.map(\.status) == [429, 429, 429, 429, 429, 429])
                #expect(answers.allSatisfy { $0.header("Retry-After") == "1" })
            case .local:
                #expect(answers.map(\.status) == [200, 200, 200, 429, 429, 429], "the rule counted in memory")
            }
            let metrics = try RawHTTPClient(port: admin).get("/metrics").text
            #expect(metrics.contains("sluice_store_degraded 1"))
            #expect(metrics.contains(#"sluice_degraded_decisions_total{rule="r",policy="\#(policy)"} 6"#))
            // The budget (50 ms) bounds each wait for the missing Redis: the six degraded decisions
            // wait that long each (a budget of 5 s makes them take 30 s in all). Summed rather than
            // bucketed: a CI run busy with other tests saw single decisions of 0.1 to 0.6 s.
            let decisionSeconds = try #require(Self.value(of: "sluice_decision_seconds_sum", in: metrics))
            #expect(decisionSeconds < 3, "7 decisions took \(decisionSeconds) s: \(metrics)")
            // Only a rule that denies without the store takes the instance out of rotation.
            #expect(try RawHTTPClient(port: admin).get("/readyz").status == (policy == .deny ? 503 : 200))

            try redis.start()
            let back = Date()
            var recovered: TimeInterval?
            while Date().timeIntervalSince(back) < 10 {
                _ = try client.get("/")
                if !app.metrics.isStoreDegraded {
                    recovered = Date().timeIntervalSince(back)
                    break
                }
                try await Task.sleep(for: .milliseconds(20))
            }
            let seconds = try #require(recovered, "Redis never took over again")
            // The reconnect backoff is capped at 1 s; the rest is slack for a machine busy with other tests
            // (alone this takes under 0.5 s; one parallel run of the suite on 2 cores took 5.2 s).
            #expect(seconds < 10, "Redis answered again \(seconds) s after it was back")
            print("store failure \(policy): Redis decides again \(String(format: "%.2f", seconds)) s after restart")
        }
    }

    /// The number after `series ` in a Prometheus text page.
    static func value(of series: String, in page: String) -> Double? {
        page.split(separator: "\n").first { $0.hasPrefix(series + " ") }.flatMap {
            Double($0.dropFirst(series.count + 1))
        }
    }
}
