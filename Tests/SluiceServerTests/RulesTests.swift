import SluiceLimit
import SluiceNet
import Testing

@testable import SluiceServer

@Suite struct RulesTests {
    @Test func matchesMethodHostAndPathPrefix() {
        let match = RuleMatch(methods: ["post"], host: "API.example.com", pathPrefix: "/login")
        #expect(match.matches(method: "POST", host: "api.example.com:443", path: "/login/form"))
        #expect(!match.matches(method: "GET", host: "api.example.com", path: "/login"))
        #expect(!match.matches(method: "POST", host: "other.example.com", path: "/login"))
        #expect(!match.matches(method: "POST", host: nil, path: "/login"))
        #expect(!match.matches(method: "POST", host: "api.example.com", path: "/logout"))
        #expect(RuleMatch().matches(method: "DELETE", host: nil, path: "/anything"))
        #expect(RuleMatch(host: "::1").matches(method: "GET", host: "[::1]:8080", path: "/"))
    }

    @Test func onlyTheDefaultMatchCoversEveryPath() {
        #expect(RuleMatch().coversEveryPath)
        #expect(!RuleMatch(methods: ["GET"]).coversEveryPath)
        #expect(!RuleMatch(host: "example.com").coversEveryPath)
        #expect(!RuleMatch(pathPrefix: "/api").coversEveryPath)
        #expect(!RuleMatch(pathPrefix: "").coversEveryPath)
    }

    private func address(_ text: String) -> SocketAddress { try! SocketAddress(ip: text, port: 40000) }

    @Test func believesForwardingHeadersOnlyFromTrustedProxies() throws {
        let resolver = ClientAddressResolver(trustedProxies: [try IPNetwork(parsing: "10.0.0.0/8")])
        // Not a trusted peer: its header is ignored.
        let direct = resolver.clientAddress(peer: address("203.0.113.9"), forwardedFor: ["1.1.1.1"], forwarded: [])
        #expect(direct?.ip == "203.0.113.9")
        // Trusted peer: the rightmost untrusted hop is the client; a spoofed left part is ignored.
        let proxied = resolver.clientAddress(
            peer: address("10.0.0.2"), forwardedFor: ["6.6.6.6, 203.0.113.7", "10.0.0.5"], forwarded: [])
        #expect(proxied?.ip == "203.0.113.7")
        let viaForwarded = resolver.clientAddress(
            peer: address("10.0.0.2"), forwardedFor: [],
            forwarded: [#"for="[2001:db8::1]:4711";proto=https, for=10.0.0.3"#])
        #expect(viaForwarded?.ip == "2001:db8::1")
        let noHeader = resolver.clientAddress(peer: address("10.0.0.2"), forwardedFor: [], forwarded: [])
        #expect(noHeader?.ip == "10.0.0.2")
        let withPort = resolver.clientAddress(
            peer: address("10.0.0.2"), forwardedFor: ["198.51.100.4:5000"], forwarded: [])
        #expect(withPort?.ip == "198.51.100.4")
    }

    @Test func groupsIPv6ClientsByPrefix() {
        let resolver = ClientAddressResolver()
        #expect(resolver.identity(of: address("2001:db8:1:2:aaaa::1")) == "2001:db8:1:2::/64")
        #expect(resolver.identity(of: address("2001:db8:1:2:bbbb::9")) == "2001:db8:1:2::/64")
        #expect(resolver.identity(of: address("::ffff:192.0.2.1")) == "192.0.2.1")
        #expect(resolver.identity(of: address("192.0.2.1")) == "192.0.2.1")
        #expect(ClientAddressResolver(ipv6PrefixLength: 128).identity(of: address("2001:db8::1")) == "2001:db8::1")
    }

    @Test func networksContainTheirAddresses() throws {
        let v4 = try IPNetwork(parsing: "192.168.0.0/16")
        #expect(v4.contains(address("192.168.44.1")))
        #expect(!v4.contains(address("192.169.0.1")))
        #expect(v4.contains(address("::ffff:192.168.1.1")))
        let v6 = try IPNetwork(parsing: "2001:db8::/32")
        #expect(v6.contains(address("2001:db8:ffff::1")))
        #expect(!v6.contains(address("2001:db9::1")))
        #expect(try IPNetwork(parsing: "127.0.0.1").contains(address("127.0.0.1")))
        #expect(v4.description == "192.168.0.0/16")
    }

    @Test func headersDescribeTheDecision() throws {
        let rule = Rule(
            name: "api", policy: try RateLimitPolicy(algorithm: .fixedWindow, limit: 10, window: .seconds(60)))
        let allowed = Decision(
            allowed: true, limit: 10, remaining: 3, resetAfter: .milliseconds(1_500), retryAfter: .zero)
        let fields = RateLimitHeaders.fields(
            for: allowed, rule: rule, nowMilliseconds: 1_700_000_000_200, style: .init()
        ).pairs
        #expect(fields.map(\.0) == ["X-RateLimit-Limit", "X-RateLimit-Remaining", "X-RateLimit-Reset"])
        // Whole again at 1,700,000,001.700 s: rounded up to 1,700,000,002.
        #expect(fields.map(\.1) == ["10", "3", "1700000002"])
        let denied = Decision(
            allowed: false, limit: 10, remaining: 0, resetAfter: .milliseconds(200), retryAfter: .milliseconds(200))
        let deniedFields = RateLimitHeaders.fields(
            for: denied, rule: rule, nowMilliseconds: 0, style: .init(resetAsDelta: true, draftFields: true)
        ).pairs
        #expect(deniedFields.first { $0.0 == "Retry-After" }?.1 == "1", "rounded up, at least 1")
        #expect(deniedFields.first { $0.0 == "X-RateLimit-Reset" }?.1 == "1")
        #expect(deniedFields.first { $0.0 == "RateLimit-Policy" }?.1 == #""api";q=10;w=60"#)
        #expect(deniedFields.first { $0.0 == "RateLimit" }?.1 == #""api";r=0;t=1"#)
        let zero = Decision(allowed: false, limit: 1, remaining: 0, resetAfter: .zero, retryAfter: .zero)
        #expect(RateLimitHeaders.retryAfterSeconds(zero) == 1)
        #expect(
            RateLimitHeaders.retryAfterSeconds(
                Decision(
                    allowed: false, limit: 1, remaining: 0, resetAfter: .seconds(3), retryAfter: .milliseconds(2_001)))
                == 3)
        #expect(
            RateLimitHeaders.retryAfterSeconds(
                Decision(allowed: false, limit: 1, remaining: 0, resetAfter: .seconds(3), retryAfter: .seconds(3)))
                == 3)
    }
}
