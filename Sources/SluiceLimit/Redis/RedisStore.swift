import SluiceNet
import SluiceRedis

/// Counts in Redis, shared by every Sluice instance (and every app) that points at it.
///
/// - fixed window: `INCRBY` + `PEXPIRE … NX` in one round trip for cost 1 (a request past the
///   limit only raises a counter that is already spent; `NX` needs Redis 7.0, and an older
///   server's refusal fails the check); a script for larger costs, so that a denied request
///   takes nothing;
/// - sliding window log and token bucket: Lua scripts by `EVALSHA` (see `RedisLimitScripts`).
///
/// Cost-1 fixed-window checks, sliding-window checks and token-bucket checks of one key made in
/// one loop turn (with the same cost) go out as one call; while a script's call on Redis's clock
/// is in flight, the key's next checks wait to go out together when it answers (see
/// `CheckBatcher`): `INCRBY counter n`,
/// whose `n` counts `c − n + 1 … c` are the checks' counts in order; the sliding-window script
/// logs as many of the `n` checks as fit, and the token-bucket script takes tokens for as many
/// as the bucket holds, in order. Each decides exactly as `n` checks one after another.
///
/// Keys are `<prefix>:<rule>:{<identity>}:<algorithm>[:<window index>]`; every one expires.
///
/// ```swift
/// let store = RedisStore(client: try RedisClient(url: "redis://127.0.0.1:6379"))
/// let limiter = try RateLimiter(name: "api", algorithm: .tokenBucket, limit: 10, window: .seconds(1),
///                               burst: 20, store: store)
/// ```
public final class RedisStore: RateLimitStore {
    /// Whose clock the scripts use.
    public enum Clock: Sendable {
        /// Redis `TIME`: instances with skewed clocks still agree. The default.
        case server
        /// This process's clock, for servers that forbid `TIME` in scripts.
        case client
    }

    /// The Redis client the store talks through.
    public let client: RedisClient
    /// The first part of every key.
    public let prefix: String
    /// Whose clock the scripts use.
    public let clock: Clock
    /// Added to every key's expiry, so that a command delayed in flight never finds its key gone early.
    public let expiryGrace: Duration
    /// ``expiryGrace`` in milliseconds, converted once rather than for every check.
    private let expiryGraceMilliseconds: Int64
    /// How long an on-loop check may take before it fails with ``RateLimitError/timedOut``; nil
    /// waits for the client's command timeout. Commands still waiting for a connection when it
    /// passes are dropped unsent, so a Redis that comes back later does not count requests
    /// decided without it (a command already written may still run, and count).
    public let budget: Duration?
    private let timeSource: any TimeSource
    /// One per client loop, read-only after init; found by a scan, cheaper than hashing for a
    /// loop per core.
    private let batchers: [CheckBatcher]

    /// A store on `client`. The fixed window always takes its window index from `timeSource`:
    /// instances whose clocks differ by *d* may disagree about which window a request falls in
    /// for *d* around each boundary.
    public init(
        client: RedisClient, prefix: String = "sluice", clock: Clock = .server, expiryGrace: Duration = .seconds(1),
        budget: Duration? = nil, timeSource: any TimeSource = SystemTimeSource()
    ) {
        self.budget = budget
        self.client = client
        self.prefix = prefix
        self.clock = clock
        self.expiryGrace = expiryGrace
        self.expiryGraceMilliseconds = expiryGrace.truncatedMilliseconds
        self.timeSource = timeSource
        let checkBudget = budget.map(CheckBatcher.Budget.init)
        self.batchers = client.loops.map { CheckBatcher(loop: $0, budget: checkBudget) }
    }

    /// Decides on `loop` with that loop's connection, within ``budget``.
    public func check(
        policy: RateLimitPolicy, key: String, cost: Int, on loop: EventLoop,
        completion: @escaping (Result<Decision, RateLimitError>) -> Void
    ) {
        check(
            policy: policy, key: key, cost: cost, router: client.router(on: loop), budgeted: true,
            completion: completion)
    }

    /// Decides from any task.
    public func check(policy: RateLimitPolicy, key: String, cost: Int) async throws(RateLimitError) -> Decision {
        let result = await withUnsafeContinuation {
            (continuation: UnsafeContinuation<Result<Decision, RateLimitError>, Never>) in
            client.withRouter { [self] router in
                check(policy: policy, key: key, cost: cost, router: router, budgeted: false) {
                    continuation.resume(returning: $0)
                }
            }
        }
        return try result.get()
    }

    /// Decides with `router`; a `budgeted` check (on a loop) fails once ``budget`` passes without
    /// an answer. Commands are dropped unsent after ``budget`` either way.
    private func check(
        policy: RateLimitPolicy, key: String, cost: Int, router: RedisRouter, budgeted: Bool,
        completion: @escaping (Result<Decision, RateLimitError>) -> Void
    ) {
        precondition(cost >= 1, "a request costs at least 1 unit")
        let now = timeSource.nowMilliseconds()
        let clientNow = clock == .client ? now : 0
        let scriptNow: RESPArgument = .integer(clientNow)
        let window = policy.windowMilliseconds
        let grace: RESPArgument = .integer(expiryGraceMilliseconds)
        let batcher = batcher(for: router)
        // A batch builds its Redis key once; its errors name it.
        switch policy.algorithm {
        case .fixedWindow:
            let index = FixedWindowCounter.windowIndex(of: now, policy: policy)
            let left = (index + 1) * window - now
            guard cost == 1 else {
                // A script, so that a denied request takes nothing; it decides one check.
                let counter = redisKey(key, .fixedWindow, windowIndex: index)
                return batcher.sendAlone(
                    redisKey: counter, budgeted: budgeted,
                    send: { _, timeout, answer in
                        router.evalScript(
                            RedisLimitScripts.fixedWindow, keys: [.string(counter)],
                            arguments: [
                                scriptNow, .integer(Int64(policy.limit)), .integer(Int64(cost)), .integer(left), grace,
                            ],
                            timeout: timeout
                        ) { result in
                            answer(
                                Self.decision(from: result, policy: policy, key: counter, countedAt: now).map { [$0] })
                        }
                    }, completion: completion)
            }
            let expiry = left + expiryGraceMilliseconds
            batcher.add(
                batch: .init(
                    key: key, algorithm: .fixedWindow, cost: 1, limit: policy.limit, windowMilliseconds: window,
                    burst: 0, now: now),
                redisKey: redisKey(key, .fixedWindow, windowIndex: index), budgeted: budgeted,
                send: { counter in
                    { count, timeout, answer in
                        let replies = FixedWindowReplies { result in
                            answer(
                                Self.integer(from: result, key: counter).map { last in
                                    (0..<count).map { offset in
                                        Self.fixedWindowDecision(
                                            count: last - Int64(count - offset) + 1, policy: policy, left: left,
                                            now: now)
                                    }
                                })
                        }
                        router.send(["INCRBY", .string(counter), .integer(Int64(count))], timeout: timeout) {
                            replies.incremented($0)
                        }
                        router.send(["PEXPIRE", .string(counter), .integer(expiry), "NX"], timeout: timeout) {
                            replies.expirySet($0)
                        }
                    }
                }, completion: completion)
        case .slidingWindow:
            let prefix = prefix
            // The call's arguments are built in `send`, once per batch rather than per check.
            batcher.add(
                batch: .init(
                    key: key, algorithm: .slidingWindow, cost: cost, limit: policy.limit, windowMilliseconds: window,
                    burst: 0, now: clientNow),
                redisKey: redisKey(key, .slidingWindow), budgeted: budgeted,
                send: { log in
                    { count, timeout, answer in
                        router.evalScript(
                            RedisLimitScripts.slidingWindow,
                            keys: [.string(log), .string(Self.slidingWindowSummaryKey(prefix: prefix, key: key))],
                            arguments: [
                                scriptNow, .integer(Int64(policy.limit)), .integer(window), .integer(Int64(cost)),
                                grace, .integer(Int64(count)),
                            ], timeout: timeout
                        ) { result in
                            answer(
                                Self.slidingWindowDecisions(
                                    from: result, count: count, cost: cost, policy: policy, key: log))
                        }
                    }
                }, completion: completion)
        case .tokenBucket:
            batcher.add(
                batch: .init(
                    key: key, algorithm: .tokenBucket, cost: cost, limit: policy.limit, windowMilliseconds: window,
                    burst: policy.burst, now: clientNow),
                redisKey: redisKey(key, .tokenBucket), budgeted: budgeted,
                send: { bucket in
                    { count, timeout, answer in
                        router.evalScript(
                            RedisLimitScripts.tokenBucket, keys: [.string(bucket)],
                            arguments: [
                                scriptNow, .integer(Int64(policy.limit)), .integer(policy.bucketCapacity),
                                .integer(TokenBucket.need(cost: cost, policy: policy)), grace, .integer(Int64(count)),
                            ], timeout: timeout
                        ) { result in
                            answer(
                                Self.tokenBucketDecisions(
                                    from: result, count: count, cost: cost, policy: policy, key: bucket))
                        }
                    }
                }, completion: completion)
        }
    }

    /// The Redis key of `key`'s state under `algorithm`: `<prefix>:<key>:fw:<window index>`,
    /// `…:sw:runs` (the sliding-window log's older runs) or `…:tb`, built in one allocation.
    private func redisKey(_ key: String, _ algorithm: RateLimitAlgorithm, windowIndex: Int64 = 0) -> String {
        switch algorithm {
        case .fixedWindow: KeyText.join(prefix, ":", key, ":fw:", number: windowIndex)
        case .slidingWindow: KeyText.join(prefix, ":", key, ":sw:runs")
        case .tokenBucket: KeyText.join(prefix, ":", key, ":tb")
        }
    }

    /// The key holding the summary and newest run of `key`'s sliding-window log: `…:sw:summary`.
    private static func slidingWindowSummaryKey(prefix: String, key: String) -> String {
        KeyText.join(prefix, ":", key, ":sw:summary")
    }

    /// The batcher of `router`'s loop; every router of the client has one.
    private func batcher(for router: RedisRouter) -> CheckBatcher {
        batchers.first { $0.loop === router.loop }!
    }

    /// `{taken, live units before, countedAt, resetAfter, retryAfter}` from the sliding-window
    /// script: the first `taken` of `count` checks were logged, the rest were denied, each decided
    /// as `SlidingWindowLog` would. A reply that counts more than the limit allows is refused
    /// (only a log corrupted in Redis gives one): its checks fail as a store error, and what the
    /// script logged stays, erring on the strict side.
    static func slidingWindowDecisions(
        from result: Result<RESPValue, RedisError>, count: Int, cost: Int, policy: RateLimitPolicy, key: String
    ) -> Result<[Decision], RateLimitError> {
        batchDecisions(from: result, count: count, fieldCount: 5, key: key) { taken, fields in
            let (live, countedAt, reset, retry) = (fields[1], fields[2], fields[3], fields[4])
            let limit = Int64(policy.limit)
            let (takenUnits, overflow) = taken.multipliedReportingOverflow(by: Int64(cost))
            guard live >= 0, !overflow, taken == 0 || (live <= limit && takenUnits <= limit - live) else { return nil }
            let denied = Decision(
                allowed: false, limit: policy.limit, remaining: Int(max(0, limit - live - taken * Int64(cost))),
                resetAfterMilliseconds: max(0, reset), retryAfterMilliseconds: max(0, retry))
            return (0..<Int64(count)).map { index in
                guard index < taken else { return denied }
                return Decision(
                    allowed: true, limit: policy.limit, remaining: Int(limit - live - (index + 1) * Int64(cost)),
                    resetAfterMilliseconds: reset, retryAfterMilliseconds: 0, countedAt: countedAt)
            }
        }
    }

    /// `{taken, level before, now}` from the token-bucket script: the first `taken` of `count`
    /// checks got their tokens, the rest were denied, each decided as `TokenBucket` would. A
    /// reply whose level is outside the bucket, or too low for what it says was taken, is refused.
    static func tokenBucketDecisions(
        from result: Result<RESPValue, RedisError>, count: Int, cost: Int, policy: RateLimitPolicy, key: String
    ) -> Result<[Decision], RateLimitError> {
        batchDecisions(from: result, count: count, fieldCount: 3, key: key) { taken, fields in
            let (level, now) = (fields[1], fields[2])
            let need = TokenBucket.need(cost: cost, policy: policy)
            let (takenTotal, overflow) = taken.multipliedReportingOverflow(by: need)
            guard (0...policy.bucketCapacity).contains(level), !overflow, takenTotal <= level else { return nil }
            return (0..<Int64(count)).map { index in
                let allowed = index < taken
                return TokenBucket.decision(
                    leaving: level - (allowed ? index + 1 : taken) * need, allowed: allowed, need: need,
                    policy: policy, at: now)
            }
        }
    }

    /// The decisions of a batch script's `count` checks, made by `decide` from its reply:
    /// `fieldCount` integers, the first being how many of the checks it took (at most `count`);
    /// or the error to give every check (also when `decide` finds the reply inconsistent: nil).
    private static func batchDecisions(
        from result: Result<RESPValue, RedisError>, count: Int, fieldCount: Int, key: String,
        decide: (_ taken: Int64, _ fields: [Int64]) -> [Decision]?
    ) -> Result<[Decision], RateLimitError> {
        switch result {
        case .failure(let error):
            return .failure(storeError(error, key: key))
        case .success(let value):
            guard case .array(let values) = value else { return .failure(unexpected(value, key: key)) }
            let fields = values.compactMap(\.int)
            guard values.count == fieldCount, fields.count == fieldCount, (0...Int64(count)).contains(fields[0]) else {
                return .failure(unexpected(value, key: key))
            }
            guard let decisions = decide(fields[0], fields) else { return .failure(unexpected(value, key: key)) }
            return .success(decisions)
        }
    }

    /// An integer reply, or the error to give the checks waiting on it.
    private static func integer(from result: Result<RESPValue, RedisError>, key: String) -> Result<
        Int64, RateLimitError
    > {
        switch result {
        case .failure(let error): .failure(storeError(error, key: key))
        case .success(let value): value.int.map { .success($0) } ?? .failure(unexpected(value, key: key))
        }
    }

    /// Gives back what an allowed check took, with one script on the key's node.
    public func refund(
        policy: RateLimitPolicy, key: String, cost: Int, countedAt: Int64, on loop: EventLoop,
        completion: @escaping (Result<Void, RateLimitError>) -> Void
    ) {
        refund(
            policy: policy, key: key, cost: cost, countedAt: countedAt, router: client.router(on: loop),
            completion: completion)
    }

    /// Gives back what an allowed check took, from any task.
    public func refund(policy: RateLimitPolicy, key: String, cost: Int, countedAt: Int64) async throws(RateLimitError) {
        let result = await withUnsafeContinuation {
            (continuation: UnsafeContinuation<Result<Void, RateLimitError>, Never>) in
            client.withRouter { [self] router in
                refund(policy: policy, key: key, cost: cost, countedAt: countedAt, router: router) {
                    continuation.resume(returning: $0)
                }
            }
        }
        try result.get()
    }

    private func refund(
        policy: RateLimitPolicy, key: String, cost: Int, countedAt: Int64, router: RedisRouter,
        completion: @escaping (Result<Void, RateLimitError>) -> Void
    ) {
        let window = policy.windowMilliseconds
        let redisKey = redisKey(
            key, policy.algorithm, windowIndex: FixedWindowCounter.windowIndex(of: countedAt, policy: policy))
        let (script, keys, arguments): (RedisScript, [RESPArgument], [RESPArgument]) =
            switch policy.algorithm {
            case .fixedWindow:
                (
                    RedisLimitScripts.fixedWindowRefund, [.string(redisKey)],
                    [.integer(Int64(policy.limit)), .integer(Int64(cost))]
                )
            case .slidingWindow:
                (
                    RedisLimitScripts.slidingWindowRefund,
                    [.string(redisKey), .string(Self.slidingWindowSummaryKey(prefix: prefix, key: key))],
                    [.integer(countedAt), .integer(Int64(cost))]
                )
            case .tokenBucket:
                (
                    RedisLimitScripts.tokenBucketRefund, [.string(redisKey)],
                    [.integer(window), .integer(Int64(policy.burst)), .integer(Int64(cost)), .integer(countedAt)]
                )
            }
        router.evalScript(script, keys: keys, arguments: arguments, timeout: budget) {
            result in
            completion(
                result.map { _ in () }.mapError {
                    RateLimitError(message: "refund for \(redisKey) failed: \($0)", redisError: $0)
                })
        }
    }

    /// The decision of the cost-1 check that took count `count`: allowed while within the limit.
    private static func fixedWindowDecision(count: Int64, policy: RateLimitPolicy, left: Int64, now: Int64) -> Decision
    {
        let allowed = count <= Int64(policy.limit)
        return Decision(
            allowed: allowed, limit: policy.limit, remaining: Int(max(0, Int64(policy.limit) - count)),
            resetAfterMilliseconds: left, retryAfterMilliseconds: allowed ? 0 : left,
            countedAt: allowed ? now : nil)
    }

    /// Reads the fixed-window script's `{allowed, remaining, resetAfter, retryAfter}`; an allowed
    /// request was counted at the client's `countedAt` (the window index comes from its clock).
    private static func decision(
        from result: Result<RESPValue, RedisError>, policy: RateLimitPolicy, key: String, countedAt: Int64
    ) -> Result<Decision, RateLimitError> {
        switch result {
        case .failure(let error):
            return .failure(storeError(error, key: key))
        case .success(let value):
            guard case .array(let fields) = value, fields.count == 4, let allowed = fields[0].int,
                let remaining = fields[1].int, let reset = fields[2].int, let retry = fields[3].int
            else { return .failure(unexpected(value, key: key)) }
            return .success(
                Decision(
                    allowed: allowed == 1, limit: policy.limit, remaining: Int(max(0, remaining)),
                    resetAfterMilliseconds: max(0, reset), retryAfterMilliseconds: max(0, retry),
                    countedAt: allowed == 1 ? countedAt : nil))
        }
    }

    private static func storeError(_ error: RedisError, key: String) -> RateLimitError {
        RateLimitError(message: "rate limit check for \(key) failed: \(error)", redisError: error)
    }

    private static func unexpected(_ value: RESPValue, key: String) -> RateLimitError {
        RateLimitError(message: "rate limit check for \(key): unexpected reply from Redis: \(value)")
    }
}

/// The two replies of a cost-1 fixed-window call, `INCRBY` and then `PEXPIRE … NX`: its checks
/// are answered once both are in. A server that refuses `PEXPIRE … NX` (before Redis 7.0) fails
/// them, rather than leave counters that never expire. A reply that did not come (the connection
/// broke) is no refusal: the next check of the window sets the expiry. Loop-confined.
private final class FixedWindowReplies {
    private let answer: (Result<RESPValue, RedisError>) -> Void
    private var count: Result<RESPValue, RedisError>?
    private var refusal: RedisError?
    private var missing = 2

    init(answer: @escaping (Result<RESPValue, RedisError>) -> Void) {
        self.answer = answer
    }

    /// `INCRBY`'s reply: the counter after the checks.
    func incremented(_ result: Result<RESPValue, RedisError>) {
        count = result
        replied()
    }

    /// `PEXPIRE … NX`'s reply.
    func expirySet(_ result: Result<RESPValue, RedisError>) {
        if case .failure(var error) = result, error.serverCode != nil {
            error.message += " (the fixed window's PEXPIRE … NX needs Redis 7.0 or later)"
            refusal = error
        }
        replied()
    }

    private func replied() {
        missing -= 1
        guard missing == 0, let count else { return }
        answer(refusal.map { .failure($0) } ?? count)
    }
}
