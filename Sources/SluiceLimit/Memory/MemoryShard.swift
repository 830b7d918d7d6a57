/// A slice of a ``MemoryStore``'s keys, guarded by one lock, that keeps itself within its share of the key budget.
///
/// Forgetting expired entries is amortised: a shard sweeps itself (one pass over its entries) once it has handled
/// as many checks as it held keys after the last sweep (at least ``minimumSweepInterval``), so a sweep costs O(1)
/// per check and a shard holds at most about twice the keys that were live at its last sweep. When it would exceed
/// its capacity, it forgets the expired entries and then those that would expire soonest, down to 7/8 of capacity,
/// so that eviction too is paid for by the many checks before the next one.
struct MemoryShard {
    /// Checks between sweeps of a small shard, so small shards do not sweep on every other check.
    static let minimumSweepInterval = 1024

    /// Keys this shard may hold.
    let capacity: Int
    private var entries: [String: MemoryEntry] = [:]
    /// Heap bytes owned by the keys and entries, beyond their dictionary slots.
    private(set) var heapBytes = 0
    private var checksSinceSweep = 0
    private var keysAfterSweep = 0

    /// Creates an empty shard that holds at most `capacity` keys.
    init(capacity: Int) {
        precondition(capacity >= 1, "a shard holds at least one key, got \(capacity)")
        self.capacity = capacity
    }

    /// Keys currently stored, expired or not.
    var keyCount: Int { entries.count }

    /// Checks `cost` units for `key` at time `now`, then sweeps or evicts if it is this shard's turn.
    mutating func check(policy: RateLimitPolicy, key: String, cost: Int, now: Int64) -> Decision {
        let keysBefore = entries.count
        let outcome = entries[key, default: MemoryEntry(policy: policy, now: now)]
            .check(cost: cost, now: now, policy: policy)
        heapBytes += outcome.heapByteChange
        if entries.count > keysBefore {
            heapBytes += MemoryEntry.heapBytes(ofKey: key)
        }
        checksSinceSweep += 1
        if entries.count > capacity {
            evictSoonestExpiring(now: now, sparing: key)
        } else if checksSinceSweep >= max(Self.minimumSweepInterval, keysAfterSweep) {
            sweep(now: now)
        }
        return outcome.decision
    }

    /// Forgets every entry that has expired by `now`, releasing the dictionary's spare capacity.
    mutating func sweep(now: Int64) {
        keepOnly { _, entry in entry.expiresAt > now }
    }

    /// Forgets every entry that has expired by `now` and then, soonest expiring first, as many live ones as it
    /// takes to get down to 7/8 of capacity; never `sparedKey`.
    ///
    /// Each forgotten live key starts over with a full quota when next seen, so its clients may get up to one
    /// extra quota; eviction never causes a denial.
    private mutating func evictSoonestExpiring(now: Int64, sparing sparedKey: String) {
        let evictions = entries.count - (capacity - capacity / 8)
        let expiries = entries.compactMap { $0.key == sparedKey ? nil : $0.value.expiresAt }.sorted()
        // Evict everything expiring before `cutoff`, and as many of those expiring at it as that leaves room for.
        let cutoff = expiries[evictions - 1]
        var tiesToEvict = evictions - expiries.prefix { $0 < cutoff }.count
        keepOnly { key, entry in
            if key == sparedKey {
                return true
            }
            if entry.expiresAt <= now || entry.expiresAt < cutoff {
                return false
            }
            if entry.expiresAt > cutoff {
                return true
            }
            tiesToEvict -= 1
            return tiesToEvict < 0
        }
    }

    /// Rebuilds the dictionary with only the entries `isKept` accepts, which also returns the spare capacity a
    /// dictionary keeps after removals, and recounts what is stored.
    private mutating func keepOnly(where isKept: (String, MemoryEntry) -> Bool) {
        entries = entries.filter { isKept($0.key, $0.value) }
        heapBytes = entries.reduce(0) { total, element in
            total + MemoryEntry.heapBytes(ofKey: element.key) + element.value.state.heapBytes
        }
        checksSinceSweep = 0
        keysAfterSweep = entries.count
    }
}
