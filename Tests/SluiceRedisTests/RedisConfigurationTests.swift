import Testing

@testable import SluiceRedis

@Suite struct RedisConfigurationTests {
    @Test func parsesEveryPartOfARedisURL() throws {
        let full = try RedisConfiguration(url: "redis://app:s%40cret@cache.local:6380/3")
        #expect(full.endpoint.host == "cache.local")
        #expect(full.endpoint.port == 6380)
        #expect(full.username == "app")
        #expect(full.password == "s@cret")
        #expect(full.database == 3)

        let passwordOnly = try RedisConfiguration(url: "redis://:secret@127.0.0.1")
        #expect(passwordOnly.username == nil)
        #expect(passwordOnly.password == "secret")
        #expect(passwordOnly.endpoint.port == 6379)
        #expect(passwordOnly.database == 0)

        let v6 = try RedisConfiguration(url: "redis://[::1]:7000")
        #expect(v6.endpoint.host == "::1")
        #expect(v6.endpoint.port == 7000)
    }

    @Test func parsesClusterSeedsAndSentinels() throws {
        let cluster = try RedisConfiguration(url: "redis-cluster://:pw@10.0.0.1:7000,10.0.0.2,[::1]:7002")
        #expect(cluster.deployment == .cluster)
        #expect(cluster.seeds.map(\.description) == ["10.0.0.1:7000", "10.0.0.2:6379", "[::1]:7002"])
        #expect(cluster.endpoint == cluster.seeds[0])
        #expect(cluster.password == "pw")

        let sentinel = try RedisConfiguration(url: "redis-sentinel://s1,s2:26380/mymaster?db=2")
        #expect(sentinel.deployment == .sentinel(primaryName: "mymaster"))
        #expect(sentinel.seeds.map(\.description) == ["s1:26379", "s2:26380"])
        #expect(sentinel.database == 2)
        let byQuery = try RedisConfiguration(url: "redis-sentinel://s1?master=cache")
        #expect(byQuery.deployment == .sentinel(primaryName: "cache"))

        #expect(try RedisConfiguration(url: "redis://one:6379").deployment == .single)
    }

    @Test(arguments: [
        "http://localhost", "redis://", "redis://host:abc", "redis://host/x", "redis://host/-1", "redis://a,b",
        "redis-cluster://a,b/2", "redis-sentinel://s1,s2", "redis-cluster://a,,b",
    ])
    func rejectsBadURLs(url: String) {
        #expect(throws: RedisConfigurationError.self) { try RedisConfiguration(url: url) }
    }

    @Test func errorsHideThePassword() {
        let error = RedisConfigurationError(url: "redis://user:hunter2@host:bad", reason: "x")
        #expect(!error.description.contains("hunter2"))
        #expect(error.description.contains("redis://user:***@host:bad"))
    }
}

@Suite struct RedisHandshakeTests {
    private func configuration(user: String? = nil, password: String? = nil, database: Int = 0) -> RedisConfiguration {
        var configuration = RedisConfiguration(endpoint: .init(host: "127.0.0.1", port: 6379))
        configuration.username = user
        configuration.password = password
        configuration.database = database
        configuration.clientName = "sluice"
        return configuration
    }

    @Test func sendsHelloWithAuthSetnameAndSelectInOneGo() {
        var handshake = RedisHandshake(configuration: configuration(user: "app", password: "pw", database: 2))
        #expect(
            handshake.start() == [
                ["HELLO", "3", "AUTH", "app", "pw", "SETNAME", "sluice"], ["SELECT", 2],
            ])
        #expect(handshake.receive(.map([])) == .wait)
        #expect(handshake.receive(.simpleString("OK")) == .ready(protocolVersion: 3))
    }

    @Test func readsModeAndRoleFromHello() {
        var handshake = RedisHandshake(configuration: configuration())
        _ = handshake.start()
        let hello: RESPValue = .map([
            RESPMapEntry(key: .bulkString(Array("mode".utf8)), value: .bulkString(Array("cluster".utf8))),
            RESPMapEntry(key: .bulkString(Array("role".utf8)), value: .bulkString(Array("master".utf8))),
        ])
        #expect(handshake.receive(hello) == .ready(protocolVersion: 3))
        #expect(handshake.serverInfo == RedisServerInfo(mode: "cluster", role: "master"))
    }

    @Test func fallsBackToRESP2WhenHelloIsUnknown() {
        var handshake = RedisHandshake(configuration: configuration(password: "pw", database: 1))
        _ = handshake.start()
        #expect(
            handshake.receive(.simpleError("ERR unknown command 'HELLO'"))
                == .send([["AUTH", "pw"], ["CLIENT", "SETNAME", "sluice"], ["SELECT", 1]]))
        // The first SELECT ran unauthenticated: its error is expected and ignored.
        #expect(handshake.receive(.simpleError("NOAUTH Authentication required.")) == .wait)
        #expect(handshake.receive(.simpleString("OK")) == .wait)
        #expect(handshake.receive(.simpleString("OK")) == .wait)
        #expect(handshake.receive(.simpleString("OK")) == .ready(protocolVersion: 2))
    }

    @Test func wrongPasswordFailsAsAuthentication() {
        var handshake = RedisHandshake(configuration: configuration(password: "bad"))
        _ = handshake.start()
        guard case .fail(let code, _) = handshake.receive(.simpleError("WRONGPASS invalid username-password pair"))
        else {
            Issue.record("expected failure")
            return
        }
        #expect(code == .authenticationFailed)
    }

    @Test func failedSelectFailsTheConnection() {
        var handshake = RedisHandshake(configuration: configuration(database: 99))
        _ = handshake.start()
        #expect(handshake.receive(.map([])) == .wait)
        guard case .fail(let code, let message) = handshake.receive(.simpleError("ERR DB index is out of range"))
        else {
            Issue.record("expected failure")
            return
        }
        #expect(code == .protocolError)
        #expect(message.contains("SELECT 99"))
    }
}

@Suite struct ScriptAndBackoffTests {
    @Test func sha1MatchesKnownVectors() {
        #expect(SHA1.hexDigest("".utf8) == "da39a3ee5e6b4b0d3255bfef95601890afd80709")
        #expect(SHA1.hexDigest("abc".utf8) == "a9993e364706816aba3e25717850c26c9cd0d89d")
        let long = "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq"
        #expect(SHA1.hexDigest(long.utf8) == "84983e441c3bd26ebaae4aa1f95129e5e54670f1")
        #expect(RedisScript("return 1").sha1 == "e0e1f9fabfc9d4800c877a703b823ac0578ff8db")
    }

    @Test func backoffGrowsToItsCapWithJitterBelowTheCeiling() {
        var backoff = Backoff(base: .milliseconds(10), maximum: .milliseconds(100))
        var generator = SystemRandomNumberGenerator()
        let ceilings: [Duration] = (0..<6).map { _ in
            let ceiling = backoff.currentCeiling
            let delay = backoff.nextDelay(using: &generator)
            #expect(delay >= .zero && delay <= ceiling)
            return ceiling
        }
        #expect(ceilings.map { $0 / .milliseconds(1) } == [10, 20, 40, 80, 100, 100])
        backoff.reset()
        #expect(backoff.currentCeiling == .milliseconds(10))
    }
}
