import Foundation
import SluiceLimit
import SluiceNet
import SluiceTestSupport
import Testing

@testable import SluiceServer

/// The whole server in-process on port 0, spoken to over real sockets.
@Suite struct ServerEndToEndTests {
    /// Starts an app with `rules` on `store`; stops it when `body` returns.
    static func withApp<T>(
        rules: [Rule], store: String = "memory", trustedProxies: [String] = [],
        storeBudget: Duration = .seconds(5), _ body: (SluiceApp, Int, Int) async throws -> T
    ) async throws -> T {
        var configuration = ServerConfiguration()
        configuration.listen = HostAndPort(host: "127.0.0.1", port: 0)
        configuration.admin = HostAndPort(host: "127.0.0.1", port: 0)
        configuration.rules = rules
        configuration.store = store
        // Generous, so a busy test machine does not turn slow answers into store failures;
        // StoreFailureTests sets the production default.
        configuration.storeBudget = storeBudget
        configuration.loops = 2
        configuration.clientAddresses.trustedProxies = try trustedProxies.map { try IPNetwork(parsing: $0) }
        try await WindowEdges.startClear(of: rules)
        let app = try SluiceApp(configuration: configuration)
        let (listen, admin) = try app.start()
        defer { app.shutdown() }
        return try await body(app, listen.port, admin.port)
    }

    static func rule(_ algorithm: RateLimitAlgorithm, limit: Int, window: Duration = .seconds(60)) -> Rule {
        Rule(name: "r", policy: try! RateLimitPolicy(algorithm: algorithm, limit: limit, window: window))
    }

    @Test(arguments: RateLimitAlgorithm.allCases)
    func answers429AfterExactlyTheLimitWithHeaders(algorithm: RateLimitAlgorithm) async throws {
        try await Self.withApp(rules: [Self.rule(algorithm, limit: 5)]) { _, port, _ in
            let client = try RawHTTPClient(port: port)
            for expectedRemaining in (0..<5).reversed() {
                let response = try client.get("/")
                #expect(response.status == 200)
                #expect(response.text == "OK\n")
                #expect(response.header("X-RateLimit-Limit") == "5")
                #expect(response.header("X-RateLimit-Remaining") == String(expectedRemaining))
                let reset = Int(response.header("X-RateLimit-Reset") ?? "") ?? 0
                #expect(reset > Int(Date().timeIntervalSince1970) - 1)
            }
            let denied = try client.get("/")
            #expect(denied.status == 429)
            #expect(denied.header("X-RateLimit-Remaining") == "0")
            let retryAfter = Int(denied.header("Retry-After") ?? "") ?? 0
            #expect((1...60).contains(retryAfter))
            #expect(denied.header("Content-Type") == "application/problem+json")
            let problem = try JSONSerialization.jsonObject(with: Data(denied.text.utf8)) as? [String: Any]
            #expect(problem?["status"] as? Int == 429)
            #expect(problem?["title"] as? String == "Too Many Requests")
            #expect(problem?["rule"] as? String == "r")
            #expect(problem?["retry_after"] as? Int == retryAfter)
            #expect(denied.text.hasSuffix("}\n"))
        }
    }

    @Test func pipelinedRequestsAreAnsweredInOrderOnOneConnection() async throws {
        try await Self.withApp(rules: [Self.rule(.fixedWindow, limit: 3)]) { _, port, _ in
            let client = try RawHTTPClient(port: port)
            let request = "GET /a HTTP/1.1\r\nHost: t\r\n\r\n"
            try client.send(String(repeating: request, count: 5))
            let statuses = try (0..<5).map { _ in try client.readResponse().status }
            #expect(statuses == [200, 200, 200, 429, 429])
        }
    }

    @Test func keepAliveReusesTheConnectionAndHTTP10Closes() async throws {
        try await Self.withApp(rules: []) { app, port, _ in
            let client = try RawHTTPClient(port: port)
            for _ in 0..<20 { #expect(try client.get("/").status == 200) }
            #expect(app.metrics.render().contains("sluice_open_connections 1"))
            let old = try RawHTTPClient(port: port)
            try old.send("GET / HTTP/1.0\r\n\r\n")
            let response = try old.readResponse()
            #expect(response.status == 200)
            #expect(response.header("Connection") == "close")
            #expect(old.isClosedByPeer())
            // An HTTP/1.0 client that asks to keep the connection is told it stays open, and can use it.
            let kept = try RawHTTPClient(port: port)
            for _ in 0..<2 {
                try kept.send("GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n")
                let answer = try kept.readResponse()
                #expect(answer.status == 200 && answer.header("Connection") == "keep-alive")
            }
        }
    }

    @Test func chunkedAndContentLengthUploadsAreReadAndTheConnectionStaysUsable() async throws {
        try await Self.withApp(rules: []) { _, port, _ in
            let client = try RawHTTPClient(port: port)
            let chunk = String(repeating: "x", count: 4000)
            var upload = "POST /upload HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n"
            for _ in 0..<50 { upload += "fa0\r\n\(chunk)\r\n" }
            upload += "0\r\n\r\n"
            try client.send(upload)
            #expect(try client.readResponse().status == 200)
            try client.send("POST /x HTTP/1.1\r\nHost: t\r\nContent-Length: 5\r\n\r\nhello")
            #expect(try client.readResponse().status == 200)
            try client.send("POST /x HTTP/1.1\r\nHost: t\r\nContent-Length: 3\r\nExpect: 100-continue\r\n\r\n")
            #expect(try client.readResponse().status == 100)
            try client.send("abc")
            #expect(try client.readResponse().status == 200)
        }
    }

    @Test func trustedProxiesDecideWhoTheClientIs() async throws {
        try await Self.withApp(rules: [Self.rule(.fixedWindow, limit: 1)], trustedProxies: ["127.0.0.0/8"]) {
            _, port, _ in
            let client = try RawHTTPClient(port: port)
            #expect(try client.get("/", headers: ["X-Forwarded-For: 198.51.100.1"]).status == 200)
            #expect(try client.get("/", headers: ["X-Forwarded-For: 198.51.100.1"]).status == 429)
            #expect(try client.get("/", headers: ["X-Forwarded-For: 198.51.100.2"]).status == 200, "another client")
        }
        try await Self.withApp(rules: [Self.rule(.fixedWindow, limit: 1)]) { _, port, _ in
            let client = try RawHTTPClient(port: port)
            #expect(try client.get("/", headers: ["X-Forwarded-For: 198.51.100.1"]).status == 200)
            #expect(
                try client.get("/", headers: ["X-Forwarded-For: 198.51.100.2"]).status == 429,
                "an untrusted peer cannot pick its identity")
        }
    }

    @Test func adminListenerServesMetricsHealthAndReadiness() async throws {
        try await Self.withApp(rules: [Self.rule(.fixedWindow, limit: 1)]) { _, port, admin in
            let client = try RawHTTPClient(port: port)
            _ = try client.get("/")
            _ = try client.get("/")
            let adminClient = try RawHTTPClient(port: admin)
            let metrics = try adminClient.get("/metrics")
            #expect(metrics.status == 200)
            #expect(metrics.text.contains(#"sluice_decisions_total{rule="r",outcome="allowed"} 1"#))
            #expect(metrics.text.contains(#"sluice_decisions_total{rule="r",outcome="denied"} 1"#))
            #expect(metrics.text.contains("sluice_decision_seconds_count 2"))
            #expect(try adminClient.get("/healthz").status == 200)
            #expect(try adminClient.get("/readyz").status == 200)
            #expect(try adminClient.get("/nope").status == 404)
        }
    }

    @Test(arguments: RateLimitAlgorithm.allCases)
    func redisBackedServerLimitsTheSame(algorithm: RateLimitAlgorithm) async throws {
        try await withRedisServer { redis in
            try await Self.withApp(rules: [Self.rule(algorithm, limit: 4)], store: redis.url) { _, port, admin in
                let client = try RawHTTPClient(port: port)
                let statuses = try (0..<6).map { _ in try client.get("/").status }
                #expect(statuses == [200, 200, 200, 200, 429, 429])
                #expect(try RawHTTPClient(port: admin).get("/readyz").status == 200)
            }
        }
    }

    /// A per-client rule and, after it, a tighter per-route rule: requests the route rule denies
    /// must not use up the client's quota.
    @Test(arguments: RateLimitAlgorithm.allCases)
    func aDenialConsumesFromNoRule(algorithm: RateLimitAlgorithm) async throws {
        let rules = [
            Rule(name: "client", policy: try RateLimitPolicy(algorithm: algorithm, limit: 10, window: .seconds(60))),
            Rule(
                name: "search", match: RuleMatch(pathPrefix: "/search"), identity: [.path],
                policy: try RateLimitPolicy(algorithm: .fixedWindow, limit: 2, window: .seconds(60))),
        ]
        try await withRedisServer { redis in
            for store in ["memory", redis.url] {
                try await Self.withApp(rules: rules, store: store) { _, port, _ in
                    let client = try RawHTTPClient(port: port)
                    let statuses = try (0..<6).map { _ in try client.get("/search").status }
                    #expect(statuses == [200, 200, 429, 429, 429, 429], "\(store)")
                    let other = try client.get("/other")
                    #expect(other.status == 200)
                    #expect(other.header("X-RateLimit-Remaining") == "7", "\(store): only the two allowed counted")
                }
            }
        }
    }

    /// The default match covers every path that starts with `/` and nothing else (the server
    /// checks it by the path's first byte); a rule with a prefix covers only its paths.
    @Test func theDefaultMatchCoversEveryPathAndNotAnAsteriskTarget() async throws {
        let rules = [
            Rule(name: "all", policy: try RateLimitPolicy(algorithm: .fixedWindow, limit: 100, window: .seconds(60))),
            Rule(
                name: "search", match: RuleMatch(pathPrefix: "/search"),
                policy: try RateLimitPolicy(algorithm: .fixedWindow, limit: 50, window: .seconds(60))),
        ]
        try await Self.withApp(rules: rules) { _, port, _ in
            let client = try RawHTTPClient(port: port)
            #expect(try client.get("/").header("X-RateLimit-Remaining") == "99")
            #expect(try client.get("/other?q=1").header("X-RateLimit-Remaining") == "98")
            // Both rules count; the answer shows the one with the least remaining.
            #expect(try client.get("/search").header("X-RateLimit-Limit") == "50")
            try client.send("OPTIONS * HTTP/1.1\r\nHost: test\r\n\r\n")
            let asterisk = try client.readResponse()
            #expect(asterisk.status == 200)
            #expect(asterisk.header("X-RateLimit-Limit") == nil, "no rule covers the asterisk target")
            #expect(try client.get("/").header("X-RateLimit-Remaining") == "96")
        }
    }

    /// Redis down: ready but degraded while every rule still serves by its policy; not ready
    /// once a rule denies without the store.
    @Test func readinessFollowsTheStoreAndTheRulesFailurePolicies() async throws {
        let redis = try RedisServer()
        let allowing = Self.rule(.fixedWindow, limit: 4)
        var denying = Self.rule(.fixedWindow, limit: 4)
        denying.onStoreFailure = .deny
        try await Self.withApp(rules: [allowing], store: redis.url) { (app, _, admin) async throws in
            let ready = try await Self.readiness(admin) { $0.status == 200 && !$0.text.contains("degraded") }
            #expect(ready.status == 200 && !ready.text.contains("degraded"), "\(ready.text)")
            redis.stop()
            let degraded = try RawHTTPClient(port: admin).get("/readyz")
            #expect(degraded.status == 200 && degraded.text.hasPrefix("ready, degraded"), "\(degraded.text)")

            var reloaded = app.configuration
            reloaded.rules = [allowing, denying]
            app.reload(reloaded)
            let unready = try await Self.readiness(admin) { $0.status == 503 }
            #expect(unready.status == 503 && unready.text.contains("rule r denies"), "\(unready.text)")

            // From unready, ready again only once the denying rule's shadow replaces it.
            var shadowDenying = denying
            shadowDenying.shadow = true
            reloaded.rules = [allowing, shadowDenying]
            app.reload(reloaded)
            let shadowed = try await Self.readiness(admin) { $0.status == 200 }
            #expect(
                shadowed.status == 200 && shadowed.text.hasPrefix("ready, degraded"),
                "a shadow rule never denies a request: \(shadowed.text)")
        }
        #expect(SluiceApp.readinessStoreTimeout < .seconds(1), "inside a Kubernetes probe's default timeout")
    }

    /// Asks `/readyz` until `expected` holds of the answer (the store connects and a reload
    /// reaches every loop asynchronously), at most 20 times; returns the last answer.
    static func readiness(
        _ admin: Int, until expected: (RawHTTPClient.Response) -> Bool
    ) async throws -> RawHTTPClient.Response {
        var answer = try RawHTTPClient(port: admin).get("/readyz")
        var asked = 1
        while !expected(answer) && asked < 20 {
            try await Task.sleep(for: .milliseconds(100))
            answer = try RawHTTPClient(port: admin).get("/readyz")
            asked += 1
        }
        return answer
    }
}
