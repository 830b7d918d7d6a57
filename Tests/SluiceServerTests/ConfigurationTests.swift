import Foundation
import SluiceLimit
import SluiceNet
import Testing

@testable import SluiceServer

@Suite struct ConfigurationTests {
    private func write(_ json: String) throws -> String {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("sluice-\(UUID()).json").path
        try json.write(toFile: path, atomically: true, encoding: .utf8)
        return path
    }

    @Test func readsEveryFieldOfAConfigFile() throws {
        let path = try write(
            #"""
            {
              "listen": "127.0.0.1:8081", "admin": "127.0.0.1:9091", "store": "redis://127.0.0.1:6379/1",
              "trustedProxies": ["10.0.0.0/8", "::1"], "ipv6Prefix": 56, "resetHeader": "delta", "draftHeaders": true,
              "target": {"status": 204, "body": ""}, "loops": 2, "maxConnections": 500,
              "headerTimeout": "5s", "idleTimeout": "30s", "maxBodyBytes": 1048576,
              "storeBudget": "20ms", "onStoreFailure": "local", "overLimitCache": true,
              "rules": [
                {"name": "api", "match": {"methods": ["get", "POST"], "host": "API.example.com", "pathPrefix": "/v1"},
                 "key": ["ip", "header:X-API-Key"], "algorithm": "token-bucket", "limit": 10, "window": "1s",
                 "burst": 20, "cost": 2, "shadow": true, "onStoreFailure": "deny"},
                {"name": "login", "key": "ip", "algorithm": "sliding-window", "limit": 5, "window": "1m"}
              ]
            }
            """#)
        var configuration = ServerConfiguration()
        try configuration.load(file: path)
        #expect(configuration.listen == HostAndPort(host: "127.0.0.1", port: 8081))
        #expect(configuration.store == "redis://127.0.0.1:6379/1")
        #expect(configuration.clientAddresses.trustedProxies.count == 2)
        #expect(configuration.clientAddresses.ipv6PrefixLength == 56)
        #expect(configuration.headerStyle == RateLimitHeaderStyle(resetAsDelta: true, draftFields: true))
        #expect(configuration.target.status == 204)
        #expect(configuration.http.headerTimeout == .seconds(5))
        #expect(configuration.http.maxConnections == 500)
        #expect(configuration.rules.count == 2)
        let api = configuration.rules[0]
        #expect(api.match == RuleMatch(methods: ["GET", "POST"], host: "api.example.com", pathPrefix: "/v1"))
        #expect(api.identity == [.clientIP, .header("X-API-Key")])
        #expect(api.policy == (try RateLimitPolicy(algorithm: .tokenBucket, limit: 10, window: .seconds(1), burst: 20)))
        #expect(api.cost == 2 && api.shadow)
        #expect(configuration.rules[1].identity == [.clientIP])
        #expect(configuration.storeBudget == .milliseconds(20))
        #expect(configuration.overLimitCache)
        #expect(api.onStoreFailure == .deny, "a rule's own policy wins")
        #expect(configuration.rules[1].onStoreFailure == .local, "the file's default applies to the others")
    }

    @Test(arguments: [
        (#"{"rules": [{"name": "a", "algorithm": "leaky", "limit": 1, "window": "1s"}]}"#, "rules[0].algorithm"),
        (#"{"rules": [{"name": "a", "algorithm": "fixed-window", "limit": 0, "window": "1s"}]}"#, "rules[0].limit"),
        (
            #"{"rules": [{"name": "a", "algorithm": "fixed-window", "limit": 5, "window": "1 second"}]}"#,
            "rules[0].window"
        ),
        (
            #"{"rules": [{"name": "a", "algorithm": "fixed-window", "limit": 5, "window": "1s", "burst": 3}]}"#,
            "rules[0].burst"
        ),
        (#"{"rules": [{"name": "a", "algorithm": "fixed-window", "limit": "5", "window": "1s"}]}"#, "rules[0].limit"),
        (#"{"rules": [{"name": "a b", "algorithm": "fixed-window", "limit": 5, "window": "1s"}]}"#, "rules[0].name"),
        (#"{"target": {"status": 100}}"#, "target.status"),
        (#"{"rules": [{"name": "a", "algorithm": "fixed-window", "limt": 5, "window": "1s"}]}"#, "rules[0].limt"),
        (
            #"{"rules": [{"name": "a", "key": "cookie", "algorithm": "fixed-window", "limit": 5, "window": "1s"}]}"#,
            "rules[0].key"
        ),
        (#"{"listen": "host:99999"}"#, "listen"),
        (#"{"trustedProxies": ["10.0.0.0/33"]}"#, "trustedProxies[0]"),
        (#"{"draftHeaders": 1}"#, "draftHeaders"),
        (#"{"listn": "x"}"#, "listn"),
        (#"{"onStoreFailure": "maybe"}"#, "onStoreFailure"),
        (#"{"storeBudget": "soon"}"#, "storeBudget"),
        (
            #"{"rules": [{"name": "a", "algorithm": "fixed-window", "limit": 5, "window": "1s", "onStoreFailure": 1}]}"#,
            "rules[0].onStoreFailure"
        ),
    ])
    func badConfigNamesTheFileAndTheField(json: String, field: String) throws {
        let path = try write(json)
        var configuration = ServerConfiguration()
        do {
            try configuration.load(file: path)
            Issue.record("accepted: \(json)")
        } catch {
            #expect(error.file == path)
            #expect(error.field == field, "\(error)")
            #expect(error.description.hasPrefix("\(path): \(field): "))
        }
    }

    @Test func unreadableAndInvalidFilesAreReported() throws {
        var configuration = ServerConfiguration()
        #expect(throws: ConfigurationError.self) { try configuration.load(file: "/nonexistent/sluice.json") }
        let path = try write("{ not json")
        do {
            try configuration.load(file: path)
        } catch {
            #expect(error.message.contains("not valid JSON"))
        }
    }

    @Test(arguments: [("500ms", 500), ("1s", 1_000), ("2m", 120_000), ("1h", 3_600_000), ("1d", 86_400_000)])
    func parsesDurations(text: String, milliseconds: Int64) throws {
        #expect(try DurationText.parse(text) == .milliseconds(milliseconds))
    }

    @Test(arguments: ["", "1", "s", "1.5s", "-1s", "1sec", "99999999999999999999d"])
    func rejectsBadDurations(text: String) {
        #expect(throws: ConfigurationError.self) { try DurationText.parse(text) }
    }
}
