import SluiceNet
import Synchronization

/// Denies a key that was just denied again, locally, until its `retryAfter` has passed —
/// without asking the store. An abusive client then costs no Redis round trip.
///
/// Exact, not approximate: while a denial's `retryAfter` runs, the same request would be
/// denied by the store anyway (other clients and instances can only consume more; the one
/// exception, a refund by another instance sharing the store, is described at
/// ``refund(policy:key:cost:countedAt:on:completion:)``). A cached denial covers requests of
/// the same or a larger cost.
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
        var cost: Int
        var limit: Int
    }

    /// The store asked when the cache has no answer.
    public let store: any RateLimitStore
    private let shards: [Shard]
    private let entriesPerShard: Int
    private let timeSource: any TimeSource
    private let usesSystemClock: Bool

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
        if let cached = cachedDenial(key: key, cost: cost, now: now) { return completion(.success(cached)) }
        store.check(policy: policy, key: key, cost: cost, on: loop) { [self] result in
            if case .success(let decision) = result { remember(decision, key: key, cost: cost, now: now) }
            completion(result)
        }
    }

    /// Answers from the cache, or asks the store and remembers a denial.
    public func check(policy: RateLimitPolicy, key: String, cost: Int) async throws(RateLimitError) -> Decision {
        let now = timeSource.nowMilliseconds()
        if let cached = cachedDenial(key: key, cost: cost, now: now) { return cached }
        let decision = try await store.check(policy: policy, key: key, cost: cost)
        remember(decision, key: key, cost: cost, now: now)
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
            forget(key)  // a denial that was in flight during the refund may have been cached again
            completion(result)
        }
    }

    /// Refunds through to the store and forgets the key's cached denial.
    public func refund(policy: RateLimitPolicy, key: String, cost: Int, countedAt: Int64) async throws(RateLimitError) {
        forget(key)
        try await store.refund(policy: policy, key: key, cost: cost, countedAt: countedAt)
        forget(key)  // a denial that was in flight during the refund may have been cached again
    }

    private func forget(_ key: String) {
        let key = ByteKey(key)
        _ = shard(key).entries.withLock { $0.removeValue(forKey: key) }
    }

    private func shard(_ key: ByteKey) -> Shard {
        shards[Int(UInt(bitPattern: key.hashValue) % UInt(shards.count))]
    }

    private func cachedDenial(key: String, cost: Int, now: Int64) -> Decision? {
        let key = ByteKey(key)
        guard let denial = shard(key).entries.withLock({ $0[key] }), now < denial.untilMilliseconds, cost >= denial.cost
        else { return nil }
        return Decision(
            allowed: false, limit: denial.limit, remaining: 0,
            resetAfterMilliseconds: max(0, denial.resetUntilMilliseconds - now),
            retryAfterMilliseconds: denial.untilMilliseconds - now)
    }

    /// Remembers a denial from the time the check was asked: the cached `retryAfter` can only
    /// end early, never late.
    private func remember(_ decision: Decision, key: String, cost: Int, now: Int64) {
        guard !decision.allowed, decision.retryAfterMilliseconds > 0 else { return }
        let denial = Denial(
            untilMilliseconds: now + decision.retryAfterMilliseconds,
            resetUntilMilliseconds: now + decision.resetAfterMilliseconds, cost: cost, limit: decision.limit)
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
