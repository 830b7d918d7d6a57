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
/// A check hashes the key's UTF-8 bytes once, with a fast keyed hash whose keys each store draws at random when
/// it is created (so per process). Clients choose rate-limit keys (their address, their API key), and with a
/// hash fixed in advance they could pick thousands of keys that collide and make every check on them scan a
/// long chain; with a random per-process key they cannot predict collisions. The hash is not a cryptographic
/// PRF: it resists attackers who cannot see hash values, which this store never reveals. Keys are compared by
/// their UTF-8 bytes, as Redis compares them: canonically equivalent strings encoded differently are two keys.
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
    private let shards: MemoryShards
    private let hasher = MemoryKeyHasher()
    private let timeSource: any TimeSource
    /// True when time comes from the system clock, so an event loop's once-per-iteration reading can stand in.
    let usesSystemClock: Bool

    /// Creates an empty store, with a fresh random key for its hash.
    ///
    /// - Parameters:
    ///   - shardCount: Independently locked partitions of the key space; more means less lock contention. Capped at
    ///     `maxKeys`.
    ///   - maxKeys: The most keys held at once, split evenly between the shards; at least 1.
    ///   - timeSource: Where "now" comes from for ``check(policy:key:cost:)``.
    public init(shardCount: Int = 64, maxKeys: Int = 10_000_000, timeSource: any TimeSource = SystemTimeSource()) {
        precondition(shardCount >= 1, "a store needs at least one shard, got \(shardCount)")
        precondition(maxKeys >= 1, "a store must hold at least one key, got \(maxKeys)")
        let count = min(shardCount, maxKeys)
        self.shards = MemoryShards(
            capacities: (0..<count).map { index in maxKeys / count + (index < maxKeys % count ? 1 : 0) }
        )
        self.timeSource = timeSource
        self.usesSystemClock = timeSource is SystemTimeSource
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

    /// Checks a request as ``check(policy:key:cost:)`` does, at time `now` given by the caller: the fast path for
    /// callers that already know the time, such as an event loop that reads the clock once per iteration. Pass wall
    /// time, as ``SystemTimeSource`` reads it, so fixed windows line up with other instances'. Thread-safe.
    ///
    /// ```swift
    /// let now = SystemTimeSource().nowMilliseconds()  // once for a batch of requests
    /// let decision = store.check(policy: policy, key: "api:{203.0.113.7}", now: now)
    /// ```
    ///
    /// - Parameters:
    ///   - policy: The quota to enforce.
    ///   - key: Whose quota: one client of one rule.
    ///   - cost: Units the request consumes, at least 1.
    ///   - now: Milliseconds since the Unix epoch.
    public func check(policy: RateLimitPolicy, key: String, cost: Int = 1, now: Int64) -> Decision {
        withShard(of: key) { shard, bytes, hash in
            shard.check(policy: policy, key: bytes, hash: hash, cost: cost, now: now)
        }
    }

    /// Checks a request as ``check(policy:key:cost:now:)`` does, for a key given as its UTF-8 bytes: for callers
    /// that build keys in a buffer of their own rather than as strings. The same bytes name the same key either way.
    /// Thread-safe.
    ///
    /// ```swift
    /// let decision = Array("api:{203.0.113.7}".utf8).withUnsafeBytes { key in
    ///     store.check(policy: policy, keyUTF8: key, now: SystemTimeSource().nowMilliseconds())
    /// }
    /// ```
    ///
    /// - Parameters:
    ///   - policy: The quota to enforce.
    ///   - key: The key's UTF-8 bytes; only read during the call.
    ///   - cost: Units the request consumes, at least 1.
    ///   - now: Milliseconds since the Unix epoch.
    public func check(policy: RateLimitPolicy, keyUTF8 key: UnsafeRawBufferPointer, cost: Int = 1, now: Int64)
        -> Decision
    {
        withShard(of: key) { shard, bytes, hash in
            shard.check(policy: policy, key: bytes, hash: hash, cost: cost, now: now)
        }
    }

    /// Gives back the `cost` units that an allowed check of `key` took at `countedAt` (its
    /// decision's ``Decision/countedAt``), because a later check denied the same request.
    /// Thread-safe.
    ///
    /// ```swift
    /// let first = store.check(policy: perClient, key: "client:{203.0.113.7}")
    /// let second = store.check(policy: perRoute, key: "route:{/search}")
    /// if !second.allowed, let countedAt = first.countedAt {
    ///     store.refund(policy: perClient, key: "client:{203.0.113.7}", cost: 1, countedAt: countedAt)
    /// }
    /// ```
    public func refund(policy: RateLimitPolicy, key: String, cost: Int, countedAt: Int64) {
        withShard(of: key) { shard, bytes, hash in
            shard.refund(policy: policy, key: bytes, hash: hash, cost: cost, countedAt: countedAt)
        }
    }

    /// Forgets every key whose state has expired by `now` (milliseconds since the epoch) in every shard.
    ///
    /// Shards already sweep themselves as they are used; this is for tests and for idle processes that want their
    /// memory back.
    public func sweep(now: Int64) {
        for index in 0..<shards.count {
            shards.withLock(shard: index) { $0.sweep(now: now) }
        }
    }

    /// Keys currently held, including expired ones not yet swept. Locks each shard in turn.
    public var keyCount: Int {
        (0..<shards.count).reduce(0) { total, index in total + shards.withLock(shard: index) { $0.keyCount } }
    }

    /// An estimate of the memory the keys and their state occupy, in bytes. Locks each shard in turn; O(shards).
    ///
    /// Counts what the shards' hash tables have allocated: 65 bytes per slot (a cache line holding a key's state and
    /// up to 24 bytes of the key, plus a control byte), a table growing when it is 3/4 full; the bytes of
    /// keys longer than 24, in a per-shard arena with room to grow; and for a sliding-window log 32 bytes plus 16
    /// per run it has room for. Allocator rounding and the shards' fixed part are not counted; an empty store
    /// counts zero.
    public var approximateMemoryBytes: Int {
        (0..<shards.count).reduce(0) { total, index in
            total + shards.withLock(shard: index) { $0.approximateMemoryBytes }
        }
    }

    /// Runs `body` on the locked shard that holds `key`, with the key's UTF-8 bytes and hash.
    @inline(__always)
    private func withShard<Result: Sendable>(
        of key: String, _ body: (inout MemoryShard, UnsafeRawBufferPointer, UInt64) -> Result
    ) -> Result {
        let result = key.utf8.withContiguousStorageIfAvailable { bytes in
            withShard(of: UnsafeRawBufferPointer(bytes), body)
        }
        if let result {
            return result
        }
        // A string whose UTF-8 is not stored contiguously (bridged from Objective-C): copy it once.
        var contiguous = key
        return contiguous.withUTF8 { bytes in withShard(of: UnsafeRawBufferPointer(bytes), body) }
    }

    @inline(__always)
    private func withShard<Result: Sendable>(
        of key: UnsafeRawBufferPointer, _ body: (inout MemoryShard, UnsafeRawBufferPointer, UInt64) -> Result
    ) -> Result {
        let hash = hasher.hash(key)
        // The high bits of `hash × count` pick the shard, leaving the low bits to the table inside it.
        let shard = Int(truncatingIfNeeded: hash.multipliedFullWidth(by: UInt64(shards.count)).high)
        return shards.withLock(shard: shard) { shard in body(&shard, key, hash) }
    }
}
