/// One key's state in a ``MemoryStore``: the algorithm's state and when it can be forgotten.
struct MemoryEntry {
    /// The state of whichever algorithm the key was last checked with.
    enum State {
        case fixedWindow(FixedWindowCounter)
        case slidingWindow(SlidingWindowLog)
        case tokenBucket(TokenBucket)

        /// The state of a key never seen before under `policy`.
        init(policy: RateLimitPolicy, now: Int64) {
            switch policy.algorithm {
            case .fixedWindow: self = .fixedWindow(FixedWindowCounter())
            case .slidingWindow: self = .slidingWindow(SlidingWindowLog())
            case .tokenBucket: self = .tokenBucket(.full(for: policy, at: now))
            }
        }

        var algorithm: RateLimitAlgorithm {
            switch self {
            case .fixedWindow: .fixedWindow
            case .slidingWindow: .slidingWindow
            case .tokenBucket: .tokenBucket
            }
        }

        /// Heap bytes owned by the state: only a sliding-window log allocates.
        var heapBytes: Int {
            guard case .slidingWindow(let log) = self else { return 0 }
            return Self.heapBytes(of: log)
        }

        /// Checks the request against the state, which must be for `policy`'s algorithm.
        ///
        /// - Returns: The decision, when the state expires afterwards, and by how much its heap bytes changed.
        @inline(__always)
        mutating func check(
            cost: Int,
            now: Int64,
            policy: RateLimitPolicy
        ) -> (decision: Decision, expiresAt: Int64, heapByteChange: Int) {
            // `consume` leaves the log's array uniquely referenced, so appending never copies it.
            switch consume self {
            case .fixedWindow(var counter):
                let decision = counter.check(cost: cost, now: now, policy: policy)
                self = .fixedWindow(counter)
                return (decision, counter.expiresAt(policy: policy), 0)
            case .slidingWindow(var log):
                let heapBytesBefore = Self.heapBytes(of: log)
                let decision = log.check(cost: cost, now: now, policy: policy)
                let outcome = (decision, log.expiresAt(policy: policy), Self.heapBytes(of: log) - heapBytesBefore)
                self = .slidingWindow(log)
                return outcome
            case .tokenBucket(var bucket):
                let decision = bucket.check(cost: cost, now: now, policy: policy)
                self = .tokenBucket(bucket)
                return (decision, bucket.expiresAt(afterCheckAt: now, deciding: decision), 0)
            }
        }

        /// Gives back what an allowed check took; see ``RateLimitStore/refund(policy:key:cost:countedAt:on:completion:)``.
        mutating func refund(cost: Int, countedAt: Int64, policy: RateLimitPolicy) {
            switch consume self {
            case .fixedWindow(var counter):
                counter.refund(cost: cost, countedAt: countedAt, policy: policy)
                self = .fixedWindow(counter)
            case .slidingWindow(var log):
                log.refund(cost: cost, countedAt: countedAt)
                self = .slidingWindow(log)
            case .tokenBucket(var bucket):
                bucket.refund(cost: cost, countedAt: countedAt, policy: policy)
                self = .tokenBucket(bucket)
            }
        }

        private static func heapBytes(of log: SlidingWindowLog) -> Int {
            log.storedRunCapacity == 0
                ? 0 : MemoryEntry.heapObjectHeaderBytes + log.storedRunCapacity * MemoryEntry.bytesPerRun
        }
    }

    /// Swift's heap object header plus an array's count and capacity.
    static let heapObjectHeaderBytes = 32
    /// One run of a sliding-window log.
    static let bytesPerRun = MemoryLayout<SlidingWindowLog.Run>.stride

    // `expiresAt` first: the entry is then 25 bytes, and a ``MemoryTable`` slot packs its key into the rest of a
    // 64-byte cache line.
    /// When `state` becomes indistinguishable from a new key's, in milliseconds since the epoch.
    private(set) var expiresAt: Int64
    private(set) var state: State

    /// The entry of a key never seen before under `policy`.
    init(policy: RateLimitPolicy, now: Int64) {
        expiresAt = .min
        state = State(policy: policy, now: now)
    }

    /// Checks the request against the state, starting over if the key was last used with another algorithm.
    ///
    /// - Returns: The decision, and by how much the state's heap bytes changed.
    @inline(__always)
    mutating func check(
        cost: Int,
        now: Int64,
        policy: RateLimitPolicy
    ) -> (decision: Decision, heapByteChange: Int) {
        var heapByteChange = 0
        if state.algorithm != policy.algorithm {
            heapByteChange -= state.heapBytes
            state = State(policy: policy, now: now)
        }
        let outcome = state.check(cost: cost, now: now, policy: policy)
        expiresAt = outcome.expiresAt
        return (outcome.decision, heapByteChange + outcome.heapByteChange)
    }

    /// Gives back what an allowed check under `policy` took, unless the key has since moved to
    /// another algorithm. The expiry stays: a refund can only make the state expire sooner, and
    /// a state kept past its expiry still decides as a new one would.
    mutating func refund(cost: Int, countedAt: Int64, policy: RateLimitPolicy) {
        guard state.algorithm == policy.algorithm else { return }
        state.refund(cost: cost, countedAt: countedAt, policy: policy)
    }
}
