/// A slice of a ``MemoryStore``'s keys, guarded by one lock, that keeps itself within its share of the key budget.
///
/// Forgetting expired entries is amortised: a shard sweeps itself (one pass over its entries) once it has handled
/// as many checks as it held live keys at the last sweep (at least ``minimumSweepInterval``), so a sweep costs O(1)
/// per check. A sweep forgets the entries that had already expired at the sweep before it and have not been
/// checked since: a key checked about as often as sweeps come round stays put, although its state may expire
/// between its checks (a token bucket refilled, a short window over), instead of being forgotten and inserted
/// again each time. A shard then holds at most about four times the keys live at its last two sweeps (twice, had
/// sweeps forgotten everything expired). It skips the pass when no entry can have expired yet, keeping a lower
/// bound of its entries' expiry times. When it would exceed its capacity, it forgets the expired entries and then
/// those that would expire soonest, down to 7/8 of capacity, so that eviction too is paid for by the many checks
/// before the next one.
struct MemoryShard: ~Copyable {
    /// Checks between sweeps of a small shard, so small shards do not sweep on every other check.
    static let minimumSweepInterval = 1024

    /// Keys this shard may hold.
    let capacity: Int
    private var table = MemoryTable()
    /// Heap bytes owned by the entries' states (sliding-window logs), beyond the table.
    private var stateHeapBytes = 0
    private var checksSinceSweep = 0
    /// Checks before the next sweep in the course of checks: the keys live at the last sweep (all the keys after an
    /// explicit sweep or an eviction, which forget every expired one).
    private var checksBetweenSweeps = 0
    /// When the last sweep in the course of checks ran: the next one forgets what had expired by then.
    private var lastSelfSweep = Int64.min
    /// No entry expires before this time: a lower bound, so that a sweep that could find nothing to forget is
    /// skipped without reading every entry.
    private var earliestExpiry = Int64.max

    /// Creates an empty shard that holds at most `capacity` keys.
    init(capacity: Int) {
        precondition(capacity >= 1, "a shard holds at least one key, got \(capacity)")
        self.capacity = capacity
    }

    /// Keys currently stored, expired or not.
    var keyCount: Int { table.count }

    /// Bytes the table has allocated plus those the entries' states own.
    var approximateMemoryBytes: Int { table.allocatedBytes + stateHeapBytes }

    /// Checks `cost` units for the key whose UTF-8 bytes are `key` and whose hash is `hash` at time `now`, then
    /// sweeps or evicts if it is this shard's turn.
    mutating func check(
        policy: RateLimitPolicy,
        key: UnsafeRawBufferPointer,
        hash: UInt64,
        cost: Int,
        now: Int64
    ) -> Decision {
        let slot =
            table.find(hash: hash, key: key)
            ?? table.insert(hash: hash, key: key, entry: MemoryEntry(policy: policy, now: now))
        let outcome = table.updateEntry(inSlot: slot) { entry in
            let outcome = entry.check(cost: cost, now: now, policy: policy)
            return (decision: outcome.decision, heapByteChange: outcome.heapByteChange, expiresAt: entry.expiresAt)
        }
        stateHeapBytes += outcome.heapByteChange
        earliestExpiry = min(earliestExpiry, outcome.expiresAt)
        checksSinceSweep += 1
        if table.count > capacity {
            evictSoonestExpiring(now: now, sparing: slot)
        } else if checksSinceSweep >= max(Self.minimumSweepInterval, checksBetweenSweeps) {
            sweepItself(now: now)
        }
        return outcome.decision
    }

    /// Gives back what an allowed check of the key took; nothing if the key has been forgotten.
    mutating func refund(
        policy: RateLimitPolicy, key: UnsafeRawBufferPointer, hash: UInt64, cost: Int, countedAt: Int64
    ) {
        guard let slot = table.find(hash: hash, key: key) else { return }
        table.updateEntry(inSlot: slot) { $0.refund(cost: cost, countedAt: countedAt, policy: policy) }
    }

    /// Forgets every entry that has expired by `now` and releases the memory the table no longer needs.
    mutating func sweep(now: Int64) {
        keepOnly(sizedFor: 0) { _, expiresAt in expiresAt > now }
    }

    /// A sweep in the course of checks: it forgets what had expired by the last one, is skipped when nothing has
    /// expired yet, and keeps room for as many keys as there were, since keys active lately tend to come back and a table cut
    /// down to the survivors would only grow again, step by step.
    private mutating func sweepItself(now: Int64) {
        let cutoff = lastSelfSweep
        lastSelfSweep = now
        guard now >= earliestExpiry else {
            // Every key is live: nothing to forget, and the count is the live count.
            checksSinceSweep = 0
            checksBetweenSweeps = table.count
            return
        }
        var liveKeys = 0
        keepOnly(sizedFor: table.count) { _, expiresAt in
            guard expiresAt > cutoff else { return false }
            if expiresAt > now {
                liveKeys += 1
            }
            return true
        }
        checksBetweenSweeps = liveKeys
    }

    /// Forgets every entry that has expired by `now` and then, soonest expiring first, as many live ones as it
    /// takes to get down to 7/8 of capacity; never the one in `sparedSlot`.
    ///
    /// Each forgotten live key starts over with a full quota when next seen, so its clients may get up to one
    /// extra quota; eviction never causes a denial.
    private mutating func evictSoonestExpiring(now: Int64, sparing sparedSlot: Int) {
        let evictions = table.count - (capacity - capacity / 8)
        var expiries: [Int64] = []
        expiries.reserveCapacity(table.count)
        table.forEachExpiry { slot, expiresAt in
            if slot != sparedSlot {
                expiries.append(expiresAt)
            }
        }
        expiries.sort()
        // Evict everything expiring before `cutoff`, and as many of those expiring at it as that leaves room for.
        let cutoff = expiries[evictions - 1]
        var tiesToEvict = evictions - expiries.prefix { $0 < cutoff }.count
        keepOnly(sizedFor: table.count) { slot, expiresAt in
            if slot == sparedSlot {
                return true
            }
            if expiresAt <= now || expiresAt < cutoff {
                return false
            }
            if expiresAt > cutoff {
                return true
            }
            tiesToEvict -= 1
            return tiesToEvict < 0
        }
    }

    /// Keeps only the entries `isKept` accepts, in a table with room for `expectedCount` keys, and recounts what is
    /// stored.
    private mutating func keepOnly(
        sizedFor expectedCount: Int,
        where isKept: (_ slot: Int, _ expiresAt: Int64) -> Bool
    ) {
        var earliestKept = Int64.max
        let droppedAny = table.keepOnly(
            where: { slot, expiresAt in
                guard isKept(slot, expiresAt) else { return false }
                earliestKept = min(earliestKept, expiresAt)
                return true
            },
            sizedFor: expectedCount
        )
        // Recounting reads every entry again; with no sliding-window log in the shard there is nothing to count.
        if droppedAny && stateHeapBytes > 0 {
            stateHeapBytes = table.entryHeapBytes
        }
        earliestExpiry = earliestKept
        checksSinceSweep = 0
        checksBetweenSweeps = table.count
    }
}
