import Synchronization

/// Rate limiting in process memory: the default store when no Redis is configured.
///
/// Keys are spread over independently locked shards by hash, so threads checking different keys rarely wait for
/// each other. Each check is O(1) on average (O(log n) for a sliding-window log of n runs). Memory stays bounded:
/// shards forget expired keys as they go (see ``sweep(now:)``), and never hold more than `maxKeys` keys in total.
///
/// When more than `maxKeys` keys are live at once, the store forgets the keys whose state would expire soonest.
/// A forgotten key starts over with a full quota, so its clients can get up to one extra quota: eviction can
/// allow more than the limit, never deny wrongly. Size `maxKeys` above the number of clients active within a
/// window to avoid it.
///
/// ```swift
/// let store = MemoryStore()
/// let policy = try RateLimitPolicy(algorithm: .slidingWindow, limit: 100, window: .seconds(60))
/// let decision = store.check(policy: policy, key: "api:203.0.113.7", cost: 1)
/// if !decision.allowed {
///     print("retry in \(decision.retryAfter)")
/// }
/// ```
public final class MemoryStore: Sendable {
    private let shards: [LockedShard]
    private let timeSource: any TimeSource

    /// Creates an empty store.
    ///
    /// - Parameters:
    ///   - shardCount: Independently locked partitions of the key space; more means less lock contention. Capped at
    ///     `maxKeys`.
    ///   - maxKeys: The most keys held at once, split evenly between the shards; at least 1.
    ///   - timeSource: Where "now" comes from.
    public init(shardCount: Int = 64, maxKeys: Int = 10_000_000, timeSource: any TimeSource = SystemTimeSource()) {
        precondition(shardCount >= 1, "a store needs at least one shard, got \(shardCount)")
        precondition(maxKeys >= 1, "a store must hold at least one key, got \(maxKeys)")
        let count = min(shardCount, maxKeys)
        self.shards = (0..<count).map { index in
            LockedShard(capacity: maxKeys / count + (index < maxKeys % count ? 1 : 0))
        }
        self.timeSource = timeSource
    }

    /// Checks a request of `cost` units for `key` against `policy` at the time source's current time, consuming
    /// the units if it is allowed.
    ///
    /// A key last checked with a different algorithm starts over under the new one. Thread-safe.
    ///
    /// - Parameters:
    ///   - policy: The quota to enforce.
    ///   - key: Whose quota: one client of one rule.
    ///   - cost: Units the request consumes, at least 1.
    public func check(policy: RateLimitPolicy, key: String, cost: Int = 1) -> Decision {
        check(policy: policy, key: key, cost: cost, now: timeSource.nowMilliseconds())
    }

    /// Checks a request as ``check(policy:key:cost:)`` does, at time `now` (milliseconds since the epoch).
    func check(policy: RateLimitPolicy, key: String, cost: Int, now: Int64) -> Decision {
        shard(for: key).state.withLock { shard in
            shard.check(policy: policy, key: key, cost: cost, now: now)
        }
    }

    /// Forgets every key whose state has expired by `now` (milliseconds since the epoch) in every shard.
    ///
    /// Shards already sweep themselves as they are used; this is for tests and for idle processes that want their
    /// memory back.
    public func sweep(now: Int64) {
        for shard in shards {
            shard.state.withLock { $0.sweep(now: now) }
        }
    }

    /// Keys currently held, including expired ones not yet swept. Locks each shard in turn.
    public var keyCount: Int {
        shards.reduce(0) { total, shard in total + shard.state.withLock { $0.keyCount } }
    }

    /// An estimate of the memory the keys and their state occupy, in bytes. Locks each shard in turn; O(shards).
    ///
    /// Counts per key: a dictionary slot for the key and its entry at a typical load factor (about 72 bytes), the
    /// key's UTF-8 bytes plus 33 when it is longer than the 15 bytes Swift stores inline, and for a sliding-window
    /// log 32 bytes plus 16 per run it has room for. Allocator rounding and the shards themselves are not counted.
    public var approximateMemoryBytes: Int {
        shards.reduce(0) { total, shard in
            total + shard.state.withLock { $0.keyCount * MemoryEntry.dictionarySlotBytes + $0.heapBytes }
        }
    }

    private func shard(for key: String) -> LockedShard {
        shards[Int(UInt(bitPattern: key.hashValue) % UInt(shards.count))]
    }
}

/// A shard behind its own lock; a class because a `Mutex` cannot be stored in an array directly.
private final class LockedShard: Sendable {
    let state: Mutex<MemoryShard>

    init(capacity: Int) {
        state = Mutex(MemoryShard(capacity: capacity))
    }
}
