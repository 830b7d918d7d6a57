/// One key's state under the sliding-window-log algorithm: the time of every unit allowed within the last window.
///
/// Guarantees that at most `limit` units are allowed in any half-open interval `(t - window, t]`, with no burst at
/// window edges. Memory grows with the units in a window, so prefer it for modest limits.
///
/// Units allowed in the same millisecond share one run, so a request of cost 50 costs one run, not 50 entries.
/// The log remembers where its live runs start and moves that mark forward as runs expire: O(1) amortised (each
/// run is passed once), and a check that finds nothing newly expired reads only the first live run and the newest
/// one, two cache lines however long the log is, where a binary search over a long log would read a dozen.
/// Expired runs are discarded once they are at least half of what is stored. Only a denial searches the log, for
/// its `retryAfter`: O(log n). Two logs are equal when they store the same runs; the mark is a cache.
///
/// ```swift
/// var log = SlidingWindowLog()
/// let decision = log.check(cost: 1, now: nowMilliseconds, policy: policy)
/// ```
public struct SlidingWindowLog: Sendable, Hashable {
    /// Units allowed in one millisecond.
    struct Run: Sendable, Hashable {
        /// When the units were allowed, in milliseconds since the epoch.
        var timestamp: Int64
        /// Units in this run plus every earlier stored run; counting cumulatively gives the live units from two
        /// runs, and lets a binary search find the n-th oldest unit.
        var cumulativeUnits: Int
    }

    /// Runs in ascending timestamp order; the runs before `firstLiveRun` have expired and not been discarded yet.
    private var runs: [Run] = []
    /// The first run that had not expired at the latest check; every run before it has.
    private var firstLiveRun = 0

    /// Creates an empty log.
    public init() {}

    public static func == (lhs: SlidingWindowLog, rhs: SlidingWindowLog) -> Bool {
        lhs.runs == rhs.runs
    }

    public func hash(into hasher: inout Hasher) {
        hasher.combine(runs)
    }

    /// Runs the log can hold without reallocating; the store's memory estimate uses it.
    var storedRunCapacity: Int { runs.capacity }

    /// Records `cost` units at time `now` if the last window has room for them; a denial records nothing.
    ///
    /// Units recorded at `t` stop counting at `t + window`: the log first forgets units with
    /// `timestamp <= now - window`. A denied request's `retryAfter` is when enough of the oldest units expire for
    /// it to fit. A request costing more than `policy.limit` can never pass; it is denied with `retryAfter` equal
    /// to `resetAfter`, which is zero when the log is empty.
    ///
    /// Should the clock go backwards (a check whose time was read a moment before another's: each event loop reads
    /// its own once per iteration), units are recorded at the newest timestamp already stored instead of `now`,
    /// which can only make the log stricter, and units a later check saw expire stay expired, as the Redis script,
    /// which drops them, has it.
    ///
    /// - Parameters:
    ///   - cost: Units the request consumes, at least 1.
    ///   - now: Milliseconds since the epoch.
    ///   - policy: The quota to enforce; its algorithm is not consulted.
    public mutating func check(cost: Int, now: Int64, policy: RateLimitPolicy) -> Decision {
        precondition(cost >= 1, "a request costs at least 1 unit, got \(cost)")
        let window = policy.windowMilliseconds
        while firstLiveRun < runs.count && runs[firstLiveRun].timestamp <= now - window {
            firstLiveRun += 1
        }
        let expiredUnits = unitsBefore(firstLiveRun)
        let liveUnits = (runs.last?.cumulativeUnits ?? 0) - expiredUnits
        // `cost` may be any size: compared with what is left, so that no sum can overflow.
        let allowed = cost <= policy.limit - liveUnits
        var countedAt: Int64?
        if allowed {
            discardExpiredRuns()
            countedAt = record(cost, at: now)
        }
        let counted = allowed ? liveUnits + cost : liveUnits
        let resetAfter = counted == 0 ? 0 : runs[runs.count - 1].timestamp + window - now
        let retryAfter: Int64
        if allowed {
            retryAfter = 0
        } else if cost > policy.limit {
            retryAfter = resetAfter
        } else {
            // The request fits once the oldest `liveUnits + cost - limit` units have expired.
            let mustExpire = expiredUnits + liveUnits + cost - policy.limit
            let lastToExpire = partitionPoint(from: firstLiveRun) { $0.cumulativeUnits >= mustExpire }
            retryAfter = runs[lastToExpire].timestamp + window - now
        }
        return Decision(
            allowed: allowed,
            limit: policy.limit,
            remaining: max(0, policy.limit - counted),
            resetAfterMilliseconds: resetAfter,
            retryAfterMilliseconds: retryAfter,
            countedAt: countedAt
        )
    }

    /// Takes back `cost` units recorded at `countedAt` (a later check denied the same request).
    /// Units recorded in one millisecond are alike, so any of them will do; none are left once
    /// they have been discarded as expired.
    public mutating func refund(cost: Int, countedAt: Int64) {
        let index = partitionPoint(from: 0) { $0.timestamp >= countedAt }
        guard index < runs.count, runs[index].timestamp == countedAt else { return }
        let taken = min(cost, runs[index].cumulativeUnits - unitsBefore(index))
        for later in index..<runs.count {
            runs[later].cumulativeUnits -= taken
        }
        if runs[index].cumulativeUnits == unitsBefore(index) {
            runs.remove(at: index)
            if index < firstLiveRun {
                firstLiveRun -= 1
            }
        }
    }

    /// The first instant (milliseconds since the epoch) from which every recorded unit has expired, so a store may
    /// forget this log; `Int64.min` when it is empty.
    public func expiresAt(policy: RateLimitPolicy) -> Int64 {
        guard let newest = runs.last else { return .min }
        return newest.timestamp + policy.windowMilliseconds
    }

    /// Units stored in runs before `index`.
    private func unitsBefore(_ index: Int) -> Int {
        index == 0 ? 0 : runs[index - 1].cumulativeUnits
    }

    /// The first index at or after `start` whose run satisfies `isAtOrPast`, which must be false for a prefix of
    /// the runs and true for the rest; `runs.count` when none does.
    private func partitionPoint(from start: Int, where isAtOrPast: (Run) -> Bool) -> Int {
        var low = start
        var high = runs.count
        while low < high {
            let middle = low + (high - low) / 2
            if isAtOrPast(runs[middle]) {
                high = middle
            } else {
                low = middle + 1
            }
        }
        return low
    }

    /// Drops the expired runs before `firstLiveRun` once they are at least half of what is stored, so each run is
    /// moved O(1) times on average.
    private mutating func discardExpiredRuns() {
        guard firstLiveRun > 0, firstLiveRun * 2 >= runs.count else { return }
        let expiredUnits = unitsBefore(firstLiveRun)
        runs.removeSubrange(0..<firstLiveRun)
        firstLiveRun = 0
        for index in runs.indices {
            runs[index].cumulativeUnits -= expiredUnits
        }
    }

    /// Records `units` at `now`, or at the newest stored time if that is later, and returns which.
    private mutating func record(_ units: Int, at now: Int64) -> Int64 {
        guard let newest = runs.last else {
            runs.append(Run(timestamp: now, cumulativeUnits: units))
            return now
        }
        if newest.timestamp >= now {
            runs[runs.count - 1].cumulativeUnits += units
            return newest.timestamp
        }
        runs.append(Run(timestamp: now, cumulativeUnits: newest.cumulativeUnits + units))
        return now
    }
}
