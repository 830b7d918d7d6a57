import Dispatch
import Glibc
import SluiceLimit
import SluiceNet
import SluiceRedis
import SluiceTestSupport
import Synchronization
import Testing

/// The Redis store against a real `redis-server`, and both stores against one table of cases.
@Suite struct RedisStoreTests {
    /// A window-aligned instant (a multiple of every window used here), in Unix milliseconds.
    private static let start: Int64 = 1_700_000_000_000 - 1_700_000_000_000 % 3_600_000

    static let thousandPerDay: [RateLimitPolicy] = [
        try! RateLimitPolicy(algorithm: .fixedWindow, limit: 1_000, window: .seconds(86_400)),
        try! RateLimitPolicy(algorithm: .slidingWindow, limit: 1_000, window: .seconds(86_400)),
        try! RateLimitPolicy(algorithm: .tokenBucket, limit: 1_000, window: .seconds(86_400), burst: 1_000),
    ]

    @Test(arguments: thousandPerDay)
    func twoInstancesSharingRedisAllowExactlyTheLimit(policy: RateLimitPolicy) async throws {
        try await withRedisServer { server in
            // Two independent clients: two Sluice instances sharing one Redis.
            let clients = [try RedisClient(url: server.url), try RedisClient(url: server.url)]
            defer { for client in clients { client.shutdown() } }
            let limiters = clients.map {
                RateLimiter(name: "exact", policy: policy, store: RedisStore(client: $0))
            }
            let (allowed, failures) = try await fire(checks: 5_000, tasks: 64, key: "shared") { task in
                limiters[task % 2]
            }
            #expect(failures == 0)
            #expect(allowed == 1_000)
        }
    }

    @Test(arguments: thousandPerDay)
    func costAboveOneIsExactToo(policy: RateLimitPolicy) async throws {
        try await withRedisServer { server in
            let client = try RedisClient(url: server.url)
            defer { client.shutdown() }
            let limiter = RateLimiter(name: "cost", policy: policy, store: RedisStore(client: client))
            // 64 tasks asking for 3 units each: 333 fit in 1,000 and the last unit stays unused.
            let (allowed, failures) = try await fire(checks: 2_000, tasks: 64, key: "k", cost: 3) { _ in limiter }
            #expect(failures == 0)
            #expect(allowed == 333)
            #expect(try await limiter.check(key: "k", cost: 1).allowed, "denials took nothing: one unit is left")
            #expect(try await !limiter.check(key: "k", cost: 1).allowed)
        }
    }

    /// One loop turn's checks of one key go to Redis as one call (`INCRBY n`, one `EVALSHA`), and
    /// are decided exactly as the memory store decides the same checks one after another. Two
    /// keys interleaved: a check joins its key's batch whether or not the check before it was of
    /// the same key.
    @Test(arguments: [
        (RateLimitAlgorithm.fixedWindow, 1), (.slidingWindow, 1), (.slidingWindow, 2), (.tokenBucket, 1),
        (.tokenBucket, 2),
    ])
    func oneLoopTurnsChecksOfAKeyAreOneCall(algorithm: RateLimitAlgorithm, cost: Int) async throws {
        try await withRedisServer { server in
            let client = try RedisClient(url: server.url)
            defer { client.shutdown() }
            let time = ManualTimeSource(milliseconds: Self.start + 1_234)
            let store = RedisStore(client: client, clock: .client, timeSource: time)
            let policy = try RateLimitPolicy(
                algorithm: algorithm, limit: 4, window: .seconds(3_600), burst: algorithm == .tokenBucket ? 5 : nil)
            let keys = Array(
                repeating: ["turn:{k}", "turn:{k}", "turn:{j}", "turn:{k}", "turn:{j}", "turn:{j}"], count: 2
            )
            .flatMap { $0 }
            let decisions = await Self.checksInOneLoopTurn(of: keys, policy: policy, cost: cost, store, client)
            let memory = MemoryStore(timeSource: time)
            let expected = keys.map { memory.check(policy: policy, key: $0, cost: cost) }
            #expect(decisions == expected)
            #expect(decisions.contains(where: \.allowed) && decisions.contains { !$0.allowed })
            let stats = try server.cli(["INFO", "commandstats"])
            let call = algorithm == .fixedWindow ? "cmdstat_incrby:calls=2," : "cmdstat_evalsha:calls=2,"
            #expect(stats.contains(call), "\(stats)")
        }
    }

    /// Keys that differ in their bytes are different keys, also when Swift's `String` calls them
    /// equal: an é written as one code point or as e plus a combining accent is two keys in
    /// Redis, and checks of both in one loop turn are two calls, not one batch counted on the
    /// first key.
    @Test func keysEqualAsTextButNotAsBytesAreNotOneBatch() async throws {
        try await withRedisServer { server in
            let client = try RedisClient(url: server.url)
            defer { client.shutdown() }
            let store = RedisStore(client: client)
            let policy = try RateLimitPolicy(algorithm: .tokenBucket, limit: 1, window: .seconds(3_600))
            let composed = "canonical:{caf\u{E9}}"
            let decomposed = "canonical:{cafe\u{301}}"
            #expect(composed == decomposed && Array(composed.utf8) != Array(decomposed.utf8))
            let decisions = await Self.checksInOneLoopTurn(
                of: [composed, decomposed], policy: policy, cost: 1, store, client)
            #expect(decisions.map(\.allowed) == [true, true], "\(decisions)")
            #expect(try await client.send("DBSIZE").int == 2)
        }
    }

    /// The decisions of checks of `keys` made one after another in one turn of the client's loop.
    private static func checksInOneLoopTurn(
        of keys: [String], policy: RateLimitPolicy, cost: Int, _ store: RedisStore, _ client: RedisClient
    ) async -> [Decision] {
        let loop = client.loops[0]
        return await withCheckedContinuation { (continuation: CheckedContinuation<[Decision], Never>) in
            loop.execute {
                var decisions: [Int: Decision] = [:]
                for (index, key) in keys.enumerated() {
                    store.check(policy: policy, key: key, cost: cost, on: loop) { result in
                        decisions[index] = try? result.get()
                        if decisions.count == keys.count {
                            continuation.resume(returning: keys.indices.map { decisions[$0]! })
                        }
                    }
                }
            }
        }
    }

    /// Checks on a loop answer within the store's budget when Redis holds its replies (`CLIENT
    /// PAUSE`): batched ones (one timer for the batch) and the fixed window's script alike, each
    /// exactly once — the replies that come after the pause are dropped.
    @Test func checksOnALoopFailWithinTheBudgetWhileRedisHoldsItsReplies() async throws {
        try await withRedisServer { server in
            let client = try RedisClient(url: server.url)
            defer { client.shutdown() }
            let store = RedisStore(client: client, budget: .milliseconds(100))
            let checks: [(RateLimitPolicy, cost: Int)] = Self.thousandPerDay.flatMap { [($0, 1), ($0, 1), ($0, 2)] }
            let loop = client.loops[0]
            try await Self.ping(client, on: loop)  // the loop's connection is up before Redis pauses
            // Writes (and scripts) paused until this test ends it: no timing of the test machine can
            // let a reply through; `CLIENT UNPAUSE` is a read, so it still runs.
            _ = try await offPool { try server.cli(["CLIENT", "PAUSE", "20000", "WRITE"]) }
            let answers = Mutex<[Int: [Result<Decision, RateLimitError>]]>([:])
            let allAnswered = DispatchSemaphore(value: 0)
            loop.execute {
                for (index, (policy, cost)) in checks.enumerated() {
                    store.check(policy: policy, key: "paused:{k}", cost: cost, on: loop) { result in
                        let count = answers.withLock {
                            $0[index, default: []].append(result)
                            return $0.count
                        }
                        if count == checks.count { allAnswered.signal() }
                    }
                }
            }
            // ~0.1 s alone; the bound is loose because other tests can hold this machine's two cores.
            let inTime = try await offPool { allAnswered.wait(timeout: .now() + 15) == .success }
            _ = try await offPool { try server.cli(["CLIENT", "UNPAUSE"]) }
            #expect(inTime, "checks still waiting for a paused Redis after 15 s")
            try await Self.ping(client, on: loop)  // replies come in order: the late ones are in
            let results = answers.withLock { $0 }
            for index in checks.indices {
                let (policy, cost) = checks[index]
                let result = try #require(results[index])
                #expect(result.count == 1, "\(policy.algorithm) cost \(cost) answered \(result.count) times")
                guard case .failure(let error) = result.first else {
                    Issue.record("\(policy.algorithm) cost \(cost) was decided while Redis was paused")
                    continue
                }
                #expect(error.timedOut, "\(error)")
            }
        }
    }

    /// While a script's call for a key is in flight, the checks of later loop turns are held
    /// and go out together as one call when it answers (Redis holds the first reply with
    /// `CLIENT PAUSE`), allowed and counted as the memory store decides the same checks one
    /// after another (the scripts read Redis's clock, so times are not compared).
    @Test(arguments: [RateLimitAlgorithm.slidingWindow, .tokenBucket])
    func checksOfAKeyWithACallInFlightGoOutAsOneCallWhenItAnswers(algorithm: RateLimitAlgorithm) async throws {
        try await Self.withPausedRedis { server, client, store, loop in
            let policy = try RateLimitPolicy(
                algorithm: algorithm, limit: 4, window: .seconds(3_600), burst: algorithm == .tokenBucket ? 5 : nil)
            // One check, then three turns of two while its call waits in the paused Redis.
            let turns = [1, 2, 2, 2]
            let (added, decisions) = Self.checks(inTurns: turns, key: "held:{k}", policy: policy, store, on: loop)
            #expect(try await offPool { added.wait(timeout: .now() + 15) == .success })
            _ = try await offPool { try server.cli(["CLIENT", "UNPAUSE"]) }
            let memory = MemoryStore(timeSource: ManualTimeSource(milliseconds: Self.start))
            let expected = (0..<turns.reduce(0, +)).map { _ in
                let decision = memory.check(policy: policy, key: "held:{k}", cost: 1)
                return "\(decision.allowed) \(decision.remaining)"
            }
            let got = await decisions.value.map { result in
                (try? result.get()).map { "\($0.allowed) \($0.remaining)" } ?? "\(result)"
            }
            #expect(got == expected)
            try await Self.expectScriptCalls(2, server, client, on: loop)
        }
    }

    /// Checks of one Redis key reach Redis in the order they were made, also when they cannot
    /// share a call, so that near the limit the earlier request is the one allowed: a
    /// sliding-window check of another cost waits behind the held checks before it, and a fixed
    /// window's calls (one a millisecond, never held) go out in order.
    @Test(arguments: [RateLimitAlgorithm.slidingWindow, .fixedWindow])
    func checksOfOneRedisKeyReachRedisInTheOrderTheyWereMade(algorithm: RateLimitAlgorithm) async throws {
        let time = ManualTimeSource(milliseconds: Self.start + 1_234)
        try await Self.withPausedRedis(timeSource: time) {
            server, client, store, loop in
            // The third check cannot share the second's call: it costs 2 units, or comes a
            // millisecond later; either way only the first two fit.
            let sliding = algorithm == .slidingWindow
            let policy = try RateLimitPolicy(algorithm: algorithm, limit: sliding ? 3 : 2, window: .seconds(3_600))
            let (added, results) = Self.checks(
                inTurns: [1, 1, 1], key: "order:{k}", policy: policy, costs: sliding ? [1, 1, 2] : [], store, on: loop
            ) { turn in if turn == 2 && !sliding { time.advance(by: .milliseconds(1)) } }
            #expect(try await offPool { added.wait(timeout: .now() + 15) == .success })
            _ = try await offPool { try server.cli(["CLIENT", "UNPAUSE"]) }
            let allowed = await results.value.map { try? $0.get().allowed }
            #expect(allowed == [true, true, false])
        }
    }

    /// Runs `body` with a fresh server, a client of it, a store on the client (with `budget` and
    /// `timeSource`) and the client's first loop, whose connection is up, while Redis holds its
    /// writes (and scripts) until `body` sends `CLIENT UNPAUSE`. The client's connections wait
    /// for a reply longer than the pause, so that none is closed (and no command failed) for
    /// want of one.
    private static func withPausedRedis(
        budget: Duration? = nil, timeSource: any TimeSource = SystemTimeSource(),
        _ body: (RedisServer, RedisClient, RedisStore, EventLoop) async throws -> Void
    ) async throws {
        try await withRedisServer { server in
            var configuration = try RedisConfiguration(url: server.url)
            configuration.commandTimeout = .seconds(60)
            let client = try RedisClient(configuration: configuration)
            defer { client.shutdown() }
            let loop = client.loops[0]
            try await ping(client, on: loop)
            _ = try await offPool { try server.cli(["CLIENT", "PAUSE", "20000", "WRITE"]) }
            try await body(server, client, RedisStore(client: client, budget: budget, timeSource: timeSource), loop)
        }
    }

    /// A held check whose budget passes before its key's call answers fails with a timeout and
    /// is never sent: when Redis answers late, only the call that was in flight has counted.
    @Test func aHeldCheckWhoseBudgetPassesIsNeverSent() async throws {
        try await Self.withPausedRedis(budget: .milliseconds(100)) {
            server, client, store, loop in
            let policy = try RateLimitPolicy(algorithm: .tokenBucket, limit: 10, window: .seconds(3_600))
            let results = await Self.checks(inTurns: [1, 2, 2], key: "late:{k}", policy: policy, store, on: loop)
                .results
                .value
            _ = try await offPool { try server.cli(["CLIENT", "UNPAUSE"]) }
            for result in results { Self.expectTimedOut(result) }
            try await Self.expectScriptCalls(1, server, client, on: loop)
            let next = try await store.check(policy: policy, key: "late:{k}", cost: 1)
            #expect(next.remaining == 8, "the first check and this one took tokens, the held ones none")
        }
    }

    /// The reply that ends a round and the budget of a held check can come in one loop turn,
    /// the reply first (a loop busy past the deadline): the held check fails then, unsent.
    @Test func aHeldCheckWhoseBudgetPassedWhenTheReplyComesIsNeverSent() async throws {
        try await Self.withPausedRedis(budget: .milliseconds(500)) {
            server, client, store, loop in
            let policy = try RateLimitPolicy(algorithm: .tokenBucket, limit: 10, window: .seconds(3_600))
            let (added, results) = Self.checks(inTurns: [1, 1], key: "busy:{k}", policy: policy, store, on: loop)
            #expect(try await offPool { added.wait(timeout: .now() + 15) == .success })
            // The loop sleeps past the held check's budget while Redis, unpaused, answers the first; it
            // wakes only once Redis has run the script (starting redis-cli can take over a second
            // when other tests hold the cores), and the reply has had time to arrive.
            let unpaused = DispatchSemaphore(value: 0)
            loop.execute {
                usleep(1_500_000)
                unpaused.wait()
                usleep(100_000)
            }
            _ = try await offPool { try server.cli(["CLIENT", "UNPAUSE"]) }
            let ran = ContinuousClock.now + .seconds(10)
            while try await offPool({ try !server.cli(["INFO", "commandstats"]).contains("cmdstat_evalsha:calls=1,") }),
                ContinuousClock.now < ran
            {
                try await Task.sleep(for: .milliseconds(20))
            }
            unpaused.signal()
            let (first, held) = await (results.value[0], results.value[1])
            #expect((try? first.get())?.allowed == true, "the reply came in the same turn as the deadline: \(first)")
            Self.expectTimedOut(held)
            try await Self.expectScriptCalls(1, server, client, on: loop)
        }
    }

    /// Redis dies while a key's call is in flight and later checks of the key are held behind
    /// it: the call fails, the held checks go out as the next round all the same (decided once
    /// Redis is back, on a fresh Redis), and the key is not left waiting on a call that will
    /// never answer: a check after that is decided too.
    @Test(arguments: [RateLimitAlgorithm.slidingWindow, .tokenBucket])
    func aKeyWhoseCallFailsWithRedisGoneIsDecidedAgainOnceRedisIsBack(algorithm: RateLimitAlgorithm)
        async throws
    {
        try await Self.withPausedRedis { server, client, store, loop in
            let policy = try RateLimitPolicy(
                algorithm: algorithm, limit: 10, window: .seconds(3_600), burst: algorithm == .tokenBucket ? 10 : nil)
            let (added, results) = Self.checks(inTurns: [1, 2], key: "gone:{k}", policy: policy, store, on: loop)
            #expect(try await offPool { added.wait(timeout: .now() + 15) == .success })
            try await offPool {
                server.stop()
                try server.start()
            }
            let answered = DispatchSemaphore(value: 0)
            Task {
                _ = await results.value
                answered.signal()
            }
            let inTime = try await offPool { answered.wait(timeout: .now() + 20) == .success }
            try #require(inTime, "checks held behind a call to a Redis that died were never answered")
            let got = await results.value.map { result in
                (try? result.get()).map { "\($0.allowed) \($0.remaining)" } ?? "failed"
            }
            #expect(got == ["failed", "true 9", "true 8"], "the first call died with Redis; the held ones went next")
            let next = try await store.check(policy: policy, key: "gone:{k}", cost: 1)
            #expect(next.allowed && next.remaining == 7)
            try await Self.expectScriptCalls(2, server, client, on: loop)
        }
    }

    /// A check that failed for want of an answer within its budget.
    private static func expectTimedOut(_ result: Result<Decision, RateLimitError>) {
        guard case .failure(let error) = result else {
            Issue.record("decided while Redis held its replies: \(result)")
            return
        }
        #expect(error.timedOut, "\(error)")
    }

    /// Redis ran `calls` scripts, counted once the late replies on `loop`'s connection are in
    /// and so is anything their arrival would have sent.
    private static func expectScriptCalls(
        _ calls: Int, _ server: RedisServer, _ client: RedisClient, on loop: EventLoop
    ) async throws {
        try await ping(client, on: loop)
        try await ping(client, on: loop)
        let stats = try server.cli(["INFO", "commandstats"])
        #expect(stats.contains("cmdstat_evalsha:calls=\(calls),"), "\(stats)")
    }

    /// Checks of `key` made on `loop`, `turns[i]` of them in the i-th of turns 50 ms apart, each
    /// costing `costs[i]` (1 when `costs` is empty) and each turn starting with `beforeTurn(i)`: `added` is signalled once the last turn has made its
    /// checks, and `results` answers with every check's result, in the order they were made,
    /// once all have one.
    private static func checks(
        inTurns turns: [Int], key: String, policy: RateLimitPolicy, costs: [Int] = [], _ store: RedisStore,
        on loop: EventLoop, beforeTurn: @escaping @Sendable (Int) -> Void = { _ in }
    ) -> (added: DispatchSemaphore, results: Task<[Result<Decision, RateLimitError>], Never>) {
        let added = DispatchSemaphore(value: 0)
        let results = Task {
            await withCheckedContinuation {
                (continuation: CheckedContinuation<[Result<Decision, RateLimitError>], Never>) in
                let total = turns.reduce(0, +)
                let results = Mutex<[Int: Result<Decision, RateLimitError>]>([:])
                loop.execute {
                    var first = 0
                    for (turn, count) in turns.enumerated() {
                        let indexes = first..<(first + count)
                        first += count
                        loop.schedule(after: .milliseconds(50 * turn)) {
                            beforeTurn(turn)
                            for index in indexes {
                                let cost = costs.isEmpty ? 1 : costs[turn]
                                store.check(policy: policy, key: key, cost: cost, on: loop) { result in
                                    let all = results.withLock { results in
                                        results[index] = result
                                        return results.count == total ? (0..<total).map { results[$0]! } : nil
                                    }
                                    if let all { continuation.resume(returning: all) }
                                }
                            }
                            if turn == turns.count - 1 { added.signal() }
                        }
                    }
                }
            }
        }
        return (added, results)
    }

    /// A `PING` on `loop`'s connection, answered.
    private static func ping(_ client: RedisClient, on loop: EventLoop) async throws {
        let reply = await withCheckedContinuation {
            (continuation: CheckedContinuation<Result<RESPValue, RedisError>, Never>) in
            loop.execute { client.router(on: loop).send(["PING"]) { continuation.resume(returning: $0) } }
        }
        #expect(try reply.get().string == "PONG")
    }

    /// Runs `body` with a client of a fresh server and a store on a manual clock. Keys expire in
    /// real time: a long grace keeps a busy machine's seconds from expiring what the manual clock
    /// still needs.
    private static func withManualClockStore(
        _ body: (RedisClient, RedisStore, ManualTimeSource) async throws -> Void
    ) async throws {
        try await withRedisServer { server in
            let client = try RedisClient(url: server.url)
            defer { client.shutdown() }
            let time = ManualTimeSource(milliseconds: 1_700_000_000_000)
            let store = RedisStore(client: client, clock: .client, expiryGrace: .seconds(3_600), timeSource: time)
            try await body(client, store, time)
        }
    }

    /// As in memory: a bucket filled under a larger burst holds the new, lower one (a reload), even
    /// checked in the millisecond it was last changed; and a cost whose token-milliseconds pass
    /// Int64 is denied rather than trapping the process.
    @Test func aTokenBucketHoldsALoweredBurstAndDeniesAnOverflowingCost() async throws {
        try await Self.withManualClockStore { _, store, time in
            let before = try RateLimitPolicy(algorithm: .tokenBucket, limit: 10, window: .seconds(1), burst: 100)
            let after = try RateLimitPolicy(algorithm: .tokenBucket, limit: 10, window: .seconds(1), burst: 10)
            #expect(try await store.check(policy: before, key: "{b}", cost: 1).remaining == 99)
            var allowed = 0
            for _ in 0..<20 where try await store.check(policy: after, key: "{b}", cost: 1).allowed { allowed += 1 }
            #expect(allowed == 10)
            let yearly = try RateLimitPolicy(
                algorithm: .tokenBucket, limit: 1, window: .seconds(366 * 86_400), burst: 1)
            let denied = try await store.check(policy: yearly, key: "{y}", cost: 1_000_000_000)
            #expect(!denied.allowed && denied.remaining == 1)
            #expect(time.nowMilliseconds() == 1_700_000_000_000, "one millisecond throughout")
        }
    }

    /// Units allowed in one millisecond share one run of the log, whatever their cost: the
    /// newest run lives in the log's summary, and a denial writes nothing.
    @Test func aSlidingWindowCheckOfThousandsOfUnitsIsOneRun() async throws {
        try await Self.withManualClockStore { client, store, time in
            let policy = try RateLimitPolicy(algorithm: .slidingWindow, limit: 20_000, window: .seconds(60))
            let first = try await store.check(policy: policy, key: "big:{k}", cost: 9_000)
            let second = try await store.check(policy: policy, key: "big:{k}", cost: 9_000)
            time.advance(by: .milliseconds(5))
            let third = try await store.check(policy: policy, key: "big:{k}", cost: 9_000)
            #expect(first.allowed && first.remaining == 11_000)
            #expect(second.allowed && second.remaining == 2_000)
            #expect(!third.allowed && third.remaining == 2_000 && third.retryAfter == .seconds(60) - .milliseconds(5))
            #expect(try await client.send("EXISTS", "sluice:big:{k}:sw:runs").int == 0)
            let summary = try await client.send("GET", "sluice:big:{k}:sw:summary").string
            #expect(summary == "18000:1700000000000:1700000000000:18000", "\(summary ?? "none")")
            time.advance(by: .seconds(60))
            let later = try await store.check(policy: policy, key: "big:{k}", cost: 20_000)
            #expect(later.allowed && later.remaining == 0)
            let runs = try await client.send("ZRANGE", "sluice:big:{k}:sw:runs", "0", "-1")
            #expect(runs == .array([]), "the expired run left the log: \(runs)")
        }
    }

    /// A bucket is the string `"<level in token-ms>:<ms of the last take>"`, and its expiry is
    /// when it would be full again plus the grace. A bucket left as a hash `{level, at}` by an
    /// earlier Sluice is read as it is and replaced by the string at the next take.
    @Test func aTokenBucketIsOneStringAndAnOldHashBucketIsReadOnce() async throws {
        try await Self.withManualClockStore { client, store, time in
            // A token every 6 minutes.
            let policy = try RateLimitPolicy(algorithm: .tokenBucket, limit: 10, window: .seconds(3_600))
            let taken = try await store.check(policy: policy, key: "tb:{k}", cost: 3)
            #expect(taken.allowed && taken.remaining == 7)
            #expect(try await client.send("GET", "sluice:tb:{k}:tb").string == "25200000:1700000000000")
            // 3 tokens refill in 18 minutes, and the store's grace is an hour: the expiry is an
            // hour and 18 minutes less the real time since the write (a busy machine took 10 s).
            let ttl = try await client.send("PTTL", "sluice:tb:{k}:tb").int ?? 0
            #expect((3_600_000 + 1_020_000)...(3_600_000 + 1_080_000) ~= ttl, "PTTL \(ttl)")

            // Two tokens left at the current time, in the hash form.
            _ = try await client.send("HSET", "sluice:tb:{old}:tb", "level", "7200000", "at", "1700000000000")
            _ = try await client.send("PEXPIRE", "sluice:tb:{old}:tb", "600000")
            let fromHash = try await store.check(policy: policy, key: "tb:{old}", cost: 2)
            #expect(fromHash.allowed && fromHash.remaining == 0, "\(fromHash)")
            #expect(try await client.send("GET", "sluice:tb:{old}:tb").string == "0:1700000000000")
            time.advance(by: .seconds(360))
            let refilled = try await store.check(policy: policy, key: "tb:{old}", cost: 1)
            #expect(refilled.allowed && refilled.remaining == 0, "one token refilled in 6 minutes: \(refilled)")
        }
    }

    /// Redis evicting one key of a sliding-window log: after 2 units at t and 2 at t + 1 ms, the
    /// check `advance` ms later, costing `cost`, sees `remaining`.
    struct Eviction: Sendable, CustomTestStringConvertible {
        var evictedKey: String
        var advance: Int64
        var cost: Int
        var remaining: Int
        var testDescription: String { "\(evictedKey) evicted" }
    }

    /// A lost summary is rebuilt from the older runs (the newest run's 2 units go with it, the
    /// older run's 2 still count); lost older runs stop counting once the oldest of them would
    /// have expired, so phantom units last at most one window.
    @Test(arguments: [
        Eviction(evictedKey: "summary", advance: 0, cost: 2, remaining: 1),
        Eviction(evictedKey: "runs", advance: 999, cost: 3, remaining: 0),
    ])
    func aSlidingWindowLogMissingAKeyKeepsWhatIsLeft(eviction: Eviction) async throws {
        try await Self.withManualClockStore { client, store, time in
            let policy = try RateLimitPolicy(algorithm: .slidingWindow, limit: 5, window: .seconds(1))
            _ = try await store.check(policy: policy, key: "evicted:{k}", cost: 2)
            time.advance(by: .milliseconds(1))
            _ = try await store.check(policy: policy, key: "evicted:{k}", cost: 2)
            _ = try await client.send("DEL", .string("sluice:evicted:{k}:sw:\(eviction.evictedKey)"))
            time.advance(by: .milliseconds(eviction.advance))
            let next = try await store.check(policy: policy, key: "evicted:{k}", cost: eviction.cost)
            #expect(next.allowed && next.remaining == eviction.remaining, "\(next)")
        }
    }

    @Test func everyKeyWrittenHasAnExpiry() async throws {
        try await withRedisServer { server in
            let client = try RedisClient(url: server.url)
            defer { client.shutdown() }
            let store = RedisStore(client: client)
            for policy in Self.thousandPerDay {
                for cost in [1, 3, 5_000] {
                    _ = try await store.check(policy: policy, key: "ttl:\(policy.algorithm):{id-\(cost)}", cost: cost)
                }
            }
            // A check in a later millisecond moves the log's first run into its set of older runs.
            try await Task.sleep(for: .milliseconds(2))
            _ = try await store.check(policy: Self.thousandPerDay[1], key: "ttl:slidingWindow:{id-1}", cost: 1)
            let short = try RateLimitPolicy(algorithm: .tokenBucket, limit: 1, window: .seconds(1))
            _ = try await store.check(policy: short, key: "ttl:short:{id}", cost: 1)
            guard case .array(let keys) = try await client.send("KEYS", "*") else {
                Issue.record("KEYS did not return an array")
                return
            }
            // The day-long keys, which cannot have expired yet: two counters, two buckets, two
            // log summaries and one set of runs (a cost above the limit writes nothing).
            let names = keys.compactMap(\.string)
            #expect(names.filter { !$0.contains("short") }.count == 7, "\(names.sorted())")
            #expect(names.contains("sluice:ttl:slidingWindow:{id-1}:sw:runs"), "\(names.sorted())")
            for key in keys {
                let ttl = try await client.send("PTTL", .string(key.string ?? "")).int ?? -1
                #expect(ttl > 0, "\(key.string ?? "?") has no expiry (PTTL \(ttl))")
            }
        }
    }

    /// A server that refuses `PEXPIRE … NX` (a Redis before 7.0; here one with `PEXPIRE` renamed
    /// away) fails cost-1 fixed-window checks, naming the cause, rather than leaving counters
    /// that never expire. Larger costs go through the script, which needs no Redis 7 option and
    /// gives the counter its expiry, also one that a failed cost-1 check left without.
    @Test func aServerThatRefusesPEXPIRENXFailsTheCheckAndSaysWhy() async throws {
        try await withRedisServer(["--rename-command", "PEXPIRE", "PEXPIRE-RENAMED"]) { server in
            let client = try RedisClient(url: server.url)
            defer { client.shutdown() }
            let store = RedisStore(client: client)
            let policy = Self.thousandPerDay[0]
            #expect(policy.algorithm == .fixedWindow)
            await #expect {
                _ = try await store.check(policy: policy, key: "old:{a}", cost: 1)
            } throws: { error in
                "\(error)".contains("needs Redis 7.0 or later")
            }
            let fresh = try await store.check(policy: policy, key: "old:{b}", cost: 3)
            #expect(fresh.allowed && fresh.remaining == policy.limit - 3, "\(fresh)")
            let afterFailure = try await store.check(policy: policy, key: "old:{a}", cost: 2)
            #expect(afterFailure.allowed && afterFailure.remaining == policy.limit - 3, "\(afterFailure)")
            guard case .array(let keys) = try await client.send("KEYS", "*") else {
                Issue.record("KEYS did not return an array")
                return
            }
            #expect(keys.count == 2, "\(keys)")
            for key in keys {
                let ttl = try await client.send("PTTL", .string(key.string ?? "")).int ?? -1
                #expect(ttl > 0, "\(key.string ?? "?") has no expiry (PTTL \(ttl))")
            }
        }
    }

    @Test func scriptFlushMidTrafficReachesNoCallerAndCountsOnce() async throws {
        try await withRedisServer { server in
            let client = try RedisClient(url: server.url)
            let admin = try RedisClient(url: server.url)
            defer {
                client.shutdown()
                admin.shutdown()
            }
            for policy in Self.thousandPerDay where policy.algorithm != .fixedWindow {
                let limiter = RateLimiter(name: "flush", policy: policy, store: RedisStore(client: client))
                let (allowed, failures) = try await fire(checks: 1_500, tasks: 32, key: "k") { task in
                    if task == 7 { _ = try? await admin.send("SCRIPT", "FLUSH") }
                    return limiter
                }
                #expect(failures == 0, "\(policy.algorithm): NOSCRIPT reached a caller")
                #expect(allowed == 1_000, "\(policy.algorithm): counted once per check")
            }
        }
    }

    @Test func libraryExampleFromTheREADMECompilesAndRuns() async throws {
        // Keep in step with "Use it as a library" in README.md.
        let limiter = try RateLimiter(
            name: "login", algorithm: .slidingWindow, limit: 5, window: .seconds(60), store: MemoryStore())
        var allowed = 0
        for _ in 0..<6 {
            let decision = try await limiter.check(key: "user-42")
            if decision.allowed { allowed += 1 } else { #expect(decision.retryAfter > .zero) }
        }
        #expect(allowed == 5)
    }

    @Test func refundExampleFromTheREADMECompilesAndRuns() async throws {
        // Keep in step with "Use it as a library" in README.md.
        let perUser = try RateLimiter(
            name: "user", algorithm: .fixedWindow, limit: 100, window: .seconds(60), store: MemoryStore())
        let perRoute = try RateLimiter(
            name: "search", algorithm: .tokenBucket, limit: 2, window: .seconds(1), store: MemoryStore())
        for _ in 0..<5 {
            let user = try await perUser.check(key: "user-42")
            if user.allowed, try await !perRoute.check(key: "/search").allowed {
                try await perUser.refund(user, key: "user-42")
            }
        }
        #expect(try await perUser.check(key: "user-42").remaining == 97, "only the two that passed both counted")
    }
}

/// Fires `checks` checks from `tasks` concurrent tasks; returns how many were allowed and how many failed.
func fire(
    checks: Int, tasks: Int, key: String, cost: Int = 1,
    limiter: @escaping @Sendable (Int) async -> RateLimiter
) async throws -> (allowed: Int, failures: Int) {
    try await withThrowingTaskGroup(of: (Int, Int).self) { group in
        for task in 0..<tasks {
            let share = checks / tasks + (task < checks % tasks ? 1 : 0)
            group.addTask {
                let limiter = await limiter(task)
                var allowed = 0
                var failures = 0
                for _ in 0..<share {
                    do throws(RateLimitError) {
                        if try await limiter.check(key: key, cost: cost).allowed { allowed += 1 }
                    } catch {
                        failures += 1
                    }
                }
                return (allowed, failures)
            }
        }
        return try await group.reduce((0, 0)) { ($0.0 + $1.0, $0.1 + $1.1) }
    }
}
