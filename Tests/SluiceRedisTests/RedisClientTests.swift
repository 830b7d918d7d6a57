import Foundation
import SluiceNet
import SluiceRedis
import SluiceTestSupport
import Synchronization
import Testing

@Suite struct RedisClientTests {
    @Test func sendsCommandsAndDecodesRESP3Replies() async throws {
        try await withRedisServer { server in
            let client = try RedisClient(url: server.url)
            defer { client.shutdown() }
            #expect(try await client.send("PING").string == "PONG")
            #expect(try await client.send("SET", "greeting", "hello").string == "OK")
            #expect(try await client.send("GET", "greeting").string == "hello")
            #expect(try await client.send("GET", "missing") == .null)
            #expect(try await client.send("INCRBY", "n", 5).int == 5)
            try await client.send("HSET", "h", "field", "value")
            #expect(
                try await client.send("HGETALL", "h")
                    == .map([
                        RESPMapEntry(key: .bulkString(Array("field".utf8)), value: .bulkString(Array("value".utf8)))
                    ]))
            await #expect(throws: RedisError.self) { try await client.send("NOSUCHCOMMAND") }
            do throws(RedisError) {
                try await client.send("INCR", "greeting")
            } catch {
                #expect(error.code == .server)
                #expect(error.serverCode == "ERR")
                #expect(!error.isAmbiguous)
            }
        }
    }

    @Test func authenticatesWithRequirepassAndRejectsAWrongPassword() async throws {
        try await withRedisServer(["--requirepass", "s3cret"]) { server in
            let good = try RedisClient(url: "redis://:s3cret@\(server.address)")
            defer { good.shutdown() }
            #expect(try await good.send("PING").string == "PONG")

            // A long deadline, so that failing fast is told apart from failing at the deadline
            // even on a busy machine.
            var configuration = try RedisConfiguration(url: "redis://:wrong@\(server.address)")
            configuration.commandTimeout = .seconds(60)
            let bad = try RedisClient(configuration: configuration)
            defer { bad.shutdown() }
            let started = ContinuousClock.now
            do throws(RedisError) {
                try await bad.send("PING")
                Issue.record("a wrong password was accepted")
            } catch {
                #expect(error.code == .authenticationFailed)
                #expect(ContinuousClock.now - started < .seconds(20), "auth failures fail fast, not at the deadline")
            }
        }
    }

    @Test func authenticatesAsAnACLUser() async throws {
        try await withRedisServer(["--user", "app", "on", ">apppw", "~app:*", "+@all", "--user", "default", "off"]) {
            server in
            let client = try RedisClient(url: "redis://app:apppw@\(server.address)")
            defer { client.shutdown() }
            #expect(try await client.send("SET", "app:x", "1").string == "OK")
            await #expect(throws: RedisError.self) { try await client.send("SET", "other:x", "1") }  // NOPERM by key

            let wrongUser = try RedisClient(url: "redis://app:nope@\(server.address)")
            defer { wrongUser.shutdown() }
            do throws(RedisError) {
                try await wrongUser.send("PING")
                Issue.record("a wrong ACL password was accepted")
            } catch {
                #expect(error.code == .authenticationFailed)
            }
        }
    }

    @Test func selectsTheDatabaseFromTheURL() async throws {
        try await withRedisServer { server in
            let db2 = try RedisClient(url: "\(server.url)/2")
            let db0 = try RedisClient(url: server.url)
            defer {
                db2.shutdown()
                db0.shutdown()
            }
            try await db2.send("SET", "where", "two")
            #expect(try await db0.send("GET", "where") == .null)
            #expect(try await db0.send("SELECT", 2).string == "OK")  // db0's own connection now looks at 2
            #expect(try await db0.send("GET", "where").string == "two")
        }
    }

    @Test func fallsBackToRESP2WhenTheServerHasNoHello() async throws {
        try await withRedisServer(["--rename-command", "HELLO", "", "--requirepass", "pw"]) { server in
            let client = try RedisClient(url: "redis://:pw@\(server.address)/1")
            defer { client.shutdown() }
            try await client.send("HSET", "h", "f", "v")
            // RESP2 has no maps: HGETALL comes back as a flat array.
            #expect(
                try await client.send("HGETALL", "h")
                    == .array([.bulkString(Array("f".utf8)), .bulkString(Array("v".utf8))]))
            #expect(try await client.send("CLIENT", "GETNAME").string == "sluice")
        }
    }

    @Test func pipelinesTenThousandConcurrentCommandsAndMatchesReplies() async throws {
        try await withRedisServer { server in
            var configuration = try RedisConfiguration(url: server.url)
            configuration.commandTimeout = .seconds(20)  // about matching, not latency: a loaded CI box is fine
            let client = try RedisClient(configuration: configuration)
            defer { client.shutdown() }
            let mismatches = try await withThrowingTaskGroup(of: Int.self) { group in
                for index in 0..<10_000 {
                    group.addTask {
                        let payload = "payload-\(index)-\(String(repeating: "x", count: index % 50))"
                        async let echoed = client.send("ECHO", .string(payload))
                        async let counted = client.send("INCR", "total")
                        let (echo, _) = try await (echoed, counted)
                        return echo.string == payload ? 0 : 1
                    }
                }
                return try await group.reduce(0, +)
            }
            #expect(mismatches == 0)
            #expect(try await client.send("GET", "total").int == 10_000)
        }
    }

    @Test func reloadsScriptsAfterScriptFlushMidTrafficWithoutDoubleCounting() async throws {
        try await withRedisServer { server in
            let client = try RedisClient(url: server.url)
            let admin = try RedisClient(url: server.url)
            defer {
                client.shutdown()
                admin.shutdown()
            }
            let script = RedisScript("return redis.call('INCRBY', KEYS[1], ARGV[1])")
            let calls = 3_000
            let failures = try await withThrowingTaskGroup(of: Int.self) { group in
                for index in 0..<calls {
                    group.addTask {
                        if index % 500 == 250 { try await admin.send("SCRIPT", "FLUSH") }
                        do {
                            try await client.evalScript(script, keys: ["counted"], arguments: [1])
                            return 0
                        } catch {
                            return 1
                        }
                    }
                }
                return try await group.reduce(0, +)
            }
            #expect(failures == 0, "NOSCRIPT must never reach the caller")
            #expect(try await admin.send("GET", "counted").int == Int64(calls), "each call counted exactly once")
        }
    }

    @Test func aWrittenCommandWhoseConnectionDiesFailsAsAmbiguousAndIsNotReplayed() async throws {
        try await withRedisServer { server in
            var configuration = try RedisConfiguration(url: server.url)
            configuration.commandTimeout = .seconds(10)
            configuration.clientName = "victim"
            let client = try RedisClient(configuration: configuration)
            let admin = try RedisClient(url: server.url)
            defer {
                client.shutdown()
                admin.shutdown()
            }
            try await client.send("PING")
            async let blocked = outcome { () async throws(RedisError) in try await client.send("BLPOP", "nothing", 0) }
            // BLPOP first, for certain (two `async let`s may start in either order): the INCR
            // then waits behind it on the connection, written but not run.
            for _ in 0..<250 {
                let clients = try await admin.send("CLIENT", "LIST").string ?? ""
                if clients.split(separator: "\n").contains(where: {
                    $0.contains("name=victim") && $0.contains("cmd=blpop")
                }) {
                    break
                }
                try await Task.sleep(for: .milliseconds(20))
            }
            async let queued = outcome { () async throws(RedisError) in try await client.send("INCR", "replayed") }
            try await Task.sleep(for: .milliseconds(200))  // the INCR is written; BLPOP holds the connection
            let killed = try await admin.send("CLIENT", "KILL", "TYPE", "normal", "SKIPME", "yes")
            #expect(killed.int == 1)
            for result in await [blocked, queued] {
                guard case .failure(let error) = result else {
                    Issue.record("expected a failure, got \(result)")
                    continue
                }
                #expect(error.code == .connectionClosed)
                #expect(error.isAmbiguous)
            }
            #expect(try await client.send("PING").string == "PONG", "the client reconnects")
            #expect(try await admin.send("GET", "replayed") == .null, "the INCR was not sent again")
        }
    }

    @Test func recoversWhenRedisIsKilledAndRestartedMidTraffic() async throws {
        let server = try RedisServer()
        defer { server.stop() }
        var configuration = try RedisConfiguration(url: server.url)
        configuration.commandTimeout = .milliseconds(300)
        let client = try RedisClient(configuration: configuration)
        defer { client.shutdown() }
        let log = TrafficLog()
        let traffic = Task {
            await withTaskGroup(of: Void.self) { group in
                for worker in 0..<16 {
                    group.addTask {
                        for index in 0..<100_000 where !log.stop.load(ordering: .relaxed) {
                            let outcome: String
                            do throws(RedisError) {
                                try await client.send("SET", .string("k\(worker)"), .integer(Int64(index)))
                                outcome = "ok"
                            } catch {
                                outcome = error.code.rawValue
                                try? await Task.sleep(for: .milliseconds(5))
                            }
                            log.outcomes.withLock { $0[outcome, default: 0] += 1 }
                        }
                    }
                }
            }
        }
        try await log.waitForSuccesses(atLeast: 100)
        server.stop()  // SIGKILL: a crash, mid-traffic
        let okBeforeRestart = log.outcomes.withLock { $0["ok", default: 0] }
        try await Task.sleep(for: .milliseconds(500))
        try server.start()
        // The client must be serving again within a couple of seconds of the restart.
        var recovered = false
        let deadline = ContinuousClock.now + .seconds(5)
        while !recovered && ContinuousClock.now < deadline {
            recovered = (try? await client.send("PING").string) == "PONG"
            if !recovered { try await Task.sleep(for: .milliseconds(50)) }
        }
        try await log.waitForSuccesses(atLeast: okBeforeRestart + 100)
        log.stop.store(true, ordering: .relaxed)
        _ = await traffic.result  // nothing hangs: every command completed one way or the other
        let final = log.outcomes.withLock { $0 }
        #expect(recovered)
        #expect(okBeforeRestart > 0)
        #expect(final["ok", default: 0] > okBeforeRestart, "traffic succeeded again after the restart: \(final)")
        let allowed: Set<String> = ["ok", "connectionClosed", "timeout", "notSent", "connectFailed"]
        #expect(Set(final.keys).isSubset(of: allowed), "only clean failure kinds: \(final)")
    }

    /// A write that meets a replica (`READONLY`: a primary demoted under the client) is not failed:
    /// the connection is dropped, the address looked up again and the write retried within its
    /// deadline — here, until the server is promoted.
    @Test func aWriteRefusedByAReplicaIsRetriedUntilAPrimaryTakesIt() async throws {
        try await withRedisServer { primary in
            try await withRedisServer(["--replicaof", "127.0.0.1", String(primary.port)]) { replica in
                var configuration = try RedisConfiguration(url: replica.url)
                configuration.commandTimeout = .seconds(5)
                let client = try RedisClient(configuration: configuration)
                defer { client.shutdown() }
                #expect(try await client.send("GET", "k") == .null, "connected to the replica")
                let write = Task { try await client.send("SET", "k", "v") }
                try await Task.sleep(for: .milliseconds(300))  // the SET meets READONLY meanwhile
                _ = try await offPool { try replica.cli(["REPLICAOF", "NO", "ONE"]) }
                #expect(try await write.value.string == "OK")
                #expect(try await offPool { try replica.cli(["GET", "k"]) }.contains("v"))
            }
        }
    }

    /// A client with short deadlines for `silent`, a server that accepts and never answers.
    private static func impatientClient(of silent: SilentServer) throws -> RedisClient {
        var configuration = RedisConfiguration(endpoint: HostAndPort(host: "127.0.0.1", port: silent.port))
        configuration.commandTimeout = .milliseconds(300)
        configuration.connectTimeout = .milliseconds(200)
        return try RedisClient(configuration: configuration)
    }

    @Test func aServerThatNeverAnswersHitsTheDeadline() async throws {
        let silent = try SilentServer()
        let client = try Self.impatientClient(of: silent)
        defer { client.shutdown() }
        let started = ContinuousClock.now
        do throws(RedisError) {
            try await client.send("PING")
            Issue.record("a silent server answered")
        } catch {
            #expect(error.code == .timeout)
            #expect(!error.isAmbiguous, "the PING never left: the handshake never finished")
        }
        let elapsed = ContinuousClock.now - started
        // Without a deadline this would wait forever. The upper bound is loose on purpose: other
        // tests block the two cooperative threads of this 2-core machine for seconds at a time,
        // which delays this task's wake-up, not the deadline itself (~0.3 s when run alone).
        #expect(elapsed >= .milliseconds(250) && elapsed < .seconds(30), "deadline fired after \(elapsed)")
    }

    /// A command sent again from the failure handler of one that timed out waiting for a
    /// connection gets its own answer: it is not dropped with the queue it joined.
    @Test func aCommandSentFromATimeoutHandlerIsAnsweredToo() async throws {
        let silent = try SilentServer()
        let client = try Self.impatientClient(of: silent)
        defer { client.shutdown() }
        let router = client.router(on: client.loops[0])
        let codes = Mutex<[RedisError.Code?]>([])
        let secondAnswered = DispatchSemaphore(value: 0)
        router.loop.execute {
            router.send(["PING"]) { first in
                codes.withLock { $0.append(first.failureCode) }
                router.send(["PING"]) { second in
                    codes.withLock { $0.append(second.failureCode) }
                    secondAnswered.signal()
                }
            }
        }
        let answered = try await offPool { secondAnswered.wait(timeout: .now() + 20) == .success }
        #expect(answered, "the command sent from the failure handler was never answered")
        #expect(codes.withLock { $0 } == [.timeout, .timeout])
    }

    @Test func aReplyThatStopsMidwayHitsTheDeadlineAsAmbiguous() async throws {
        try await withRedisServer { server in
            var configuration = try RedisConfiguration(url: server.url)
            configuration.commandTimeout = .milliseconds(300)
            let client = try RedisClient(configuration: configuration)
            defer { client.shutdown() }
            // Connected first: on a machine busy with the other tests, connecting alone has taken
            // longer than the 300 ms deadline, and this test is about a reply cut short.
            var connected = false
            for _ in 0..<50 where !connected {
                connected = (try? await client.send("PING")) != nil
            }
            try #require(connected, "no connection to \(server.url) in 50 tries")
            do throws(RedisError) {
                try await client.send("BLPOP", "never", 0)  // the server holds the reply
                Issue.record("BLPOP returned")
            } catch {
                #expect(error.code == .timeout)
                #expect(error.isAmbiguous)
            }
            #expect(try await client.send("PING").string == "PONG")
        }
    }
}

private func outcome(_ body: () async throws(RedisError) -> RESPValue) async -> Result<RESPValue, RedisError> {
    do throws(RedisError) {
        return .success(try await body())
    } catch {
        return .failure(error)
    }
}

/// Outcomes of background traffic, counted by kind, and a switch to end it.
private final class TrafficLog: Sendable {
    let outcomes = Mutex<[String: Int]>([:])
    let stop = Atomic<Bool>(false)

    /// Waits (at most 30 s: the full parallel suite can keep the workers waiting) until `count`
    /// commands have succeeded.
    func waitForSuccesses(atLeast count: Int) async throws {
        let deadline = ContinuousClock.now + .seconds(30)
        while outcomes.withLock({ $0["ok", default: 0] }) < count && ContinuousClock.now < deadline {
            try await Task.sleep(for: .milliseconds(10))
        }
    }
}

extension Result where Failure == RedisError {
    /// The error's code, or nil for a reply.
    fileprivate var failureCode: RedisError.Code? {
        guard case .failure(let error) = self else { return nil }
        return error.code
    }
}
