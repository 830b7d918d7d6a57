import SluiceNet
import Synchronization

/// Denies a key that was just denied again, locally, until its `retryAfter` has passed —
/// without asking the store. An abusive client then costs no Redis round trip.
///
/// Exact, not approximate: while a denial's `retryAfter` runs, the same request would be
/// denied by the store anyway (other clients and instances can only consume more; the one
/// exception, a refund by another instance sharing the store, is described at
/// ``refund(policy:key:cost:countedAt:on:completion:)``). A cached denial answers requests of
/// the same policy and cost, with the remaining units and waits the store gave.
///
/// ```swift
/// let store = OverLimitCache(RedisStore(client: try RedisClient(url: "redis://127.0.0.1:6379")))
/// let limiter = try RateLimiter(name: "api", algorithm: .fixedWindow, limit: 100, window: .seconds(60), store: store)
/// ```
public final class OverLimitCache: RateLimitStore {
    private final class Shard: Sendable {
        let entries = Mutex<[ByteKey: Denial]>([:])
    }

    private struct Denial {
        var untilMilliseconds: Int64
        var resetUntilMilliseconds: Int64
        var policy: RateLimitPolicy
        var cost: Int
        var limit: Int
        var remaining: Int
    }

    /// The store asked when the cache has no answer.
    public let store: any RateLimitStore
    private let shards: [Shard]
    private let entriesPerShard: Int
    private let timeSource: any TimeSource
    private let usesSystemClock: Bool
    /// Counts the refunds answered: a denial asked for before one and answered after it may be
    /// older than the units it gave back, so it is not remembered.
    private let refunds = Atomic<UInt64>(0)

    /// A cache in front of `store` holding at most about `capacity` denied keys.
    public init(_ store: any RateLimitStore, capacity: Int = 100_000, timeSource: any TimeSource = SystemTimeSource()) {
        self.store = store
        self.shards = (0..<16).map { _ in Shard() }
        self.entriesPerShard = max(1, capacity / 16)
        self.timeSource = timeSource
        self.usesSystemClock = timeSource is SystemTimeSource
    }

    /// Answers from the cache, or asks the store on `loop` and remembers a denial. On the system
    /// clock it reads the loop's once-per-iteration time, as the memory store does.
    public func check(
        policy: RateLimitPolicy, key: String, cost: Int, on loop: EventLoop,
        completion: @escaping (Result<Decision, RateLimitError>) -> Void
    ) {
        let now = usesSystemClock ? loop.tickWallClockMilliseconds : timeSource.nowMilliseconds()
        if let cached = cachedDenial(policy: policy, key: key, cost: cost, now: now) {
            return completion(.success(cached))
        }
        let refundsBefore = refunds.load(ordering: .acquiring)
        store.check(policy: policy, key: key, cost: cost, on: loop) { [self] result in
            if case .success(let decision) = result {
                remember(decision, policy: policy, key: key, cost: cost, now: now, refundsBefore: refundsBefore)
            }
            completion(result)
        }
    }

    /// Answers from the cache, or asks the store and remembers a denial.
    public func check(policy: RateLimitPolicy, key: String, cost: Int) async throws(RateLimitError) -> Decision {
        let now = timeSource.nowMilliseconds()
        if let cached = cachedDenial(policy: policy, key: key, cost: cost, now: now) { return cached }
        let refundsBefore = refunds.load(ordering: .acquiring)
        let decision = try await store.check(policy: policy, key: key, cost: cost)
        remember(decision, policy: policy, key: key, cost: cost, now: now, refundsBefore: refundsBefore)
        return decision
    }

    /// Refunds through to the store and forgets the key's cached denial, which the units given
    /// back may have ended early. (A refund made by another instance cannot reach this cache:
    /// its denial stands until `retryAfter`, as long as that instance's request would have held
    /// the units had it passed.)
    public func refund(
        policy: RateLimitPolicy, key: String, cost: Int, countedAt: Int64, on loop: EventLoop,
        completion: @escaping (Result<Void, RateLimitError>) -> Void
    ) {
        forget(key)
        store.refund(policy: policy, key: key, cost: cost, countedAt: countedAt, on: loop) { [self] result in
            refundAnswered(key)
            completion(result)
        }
    }

    /// Refunds through to the store and forgets the key's cached denial.
    public func refund(policy: RateLimitPolicy, key: String, cost: Int, countedAt: Int64) async throws(RateLimitError) {
        forget(key)
        defer { refundAnswered(key) }
        try await store.refund(policy: policy, key: key, cost: cost, countedAt: countedAt)
    }

    /// After a refund's answer: forgets a denial cached while it was in flight, and keeps out the
    /// denials asked for before it and answered after (another loop's connection may read them later).
    private func refundAnswered(_ key: String) {
        refunds.add(1, ordering: .releasing)
        forget(key)
    }

    private func forget(_ key: String) {
        let key = ByteKey(key)
        _ = shard(key).entries.withLock { $0.removeValue(forKey: key) }
    }

    private func shard(_ key: ByteKey) -> Shard {
        shards[Int(UInt(bitPattern: key.hashValue) % UInt(shards.count))]
    }

    private func cachedDenial(policy: RateLimitPolicy, key: String, cost: Int, now: Int64) -> Decision? {
        let key = ByteKey(key)
        guard let denial = shard(key).entries.withLock({ $0[key] }), now < denial.untilMilliseconds,
            cost == denial.cost, policy == denial.policy
        else { return nil }
        return Decision(
            allowed: false, limit: denial.limit, remaining: denial.remaining,
            resetAfterMilliseconds: max(0, denial.resetUntilMilliseconds - now),
            retryAfterMilliseconds: denial.untilMilliseconds - now)
    }

    /// Remembers a denial from the time the check was asked: the cached `retryAfter` can only
    /// end early, never late. Not when a refund was answered since the check was asked
    /// (`refundsBefore` is the count then).
    private func remember(
        _ decision: Decision, policy: RateLimitPolicy, key: String, cost: Int, now: Int64, refundsBefore: UInt64
    ) {
        guard !decision.allowed, decision.retryAfterMilliseconds > 0,
            refunds.load(ordering: .acquiring) == refundsBefore
        else { return }
        let denial = Denial(
            untilMilliseconds: now + decision.retryAfterMilliseconds,
            resetUntilMilliseconds: now + decision.resetAfterMilliseconds, policy: policy, cost: cost,
            limit: decision.limit, remaining: decision.remaining)
        let key = ByteKey(key)
        shard(key).entries.withLock { entries in
            if entries.count >= entriesPerShard && entries[key] == nil {
                entries = entries.filter { $0.value.untilMilliseconds > now }
                guard entries.count < entriesPerShard else { return }  // full of live denials: ask the store
            }
            entries[key] = denial
        }
    }
}
