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
            guard case .slidingWindow(let log) = self, log.storedRunCapacity > 0 else { return 0 }
            return MemoryEntry.heapObjectHeaderBytes + log.storedRunCapacity * MemoryEntry.bytesPerRun
        }

        mutating func check(cost: Int, now: Int64, policy: RateLimitPolicy) -> Decision {
            // `consume` leaves the log's array uniquely referenced, so appending never copies it.
            switch consume self {
            case .fixedWindow(var counter):
                let decision = counter.check(cost: cost, now: now, policy: policy)
                self = .fixedWindow(counter)
                return decision
            case .slidingWindow(var log):
                let decision = log.check(cost: cost, now: now, policy: policy)
                self = .slidingWindow(log)
                return decision
            case .tokenBucket(var bucket):
                let decision = bucket.check(cost: cost, now: now, policy: policy)
                self = .tokenBucket(bucket)
                return decision
            }
        }

        func expiresAt(policy: RateLimitPolicy) -> Int64 {
            switch self {
            case .fixedWindow(let counter): counter.expiresAt(policy: policy)
            case .slidingWindow(let log): log.expiresAt(policy: policy)
            case .tokenBucket(let bucket): bucket.expiresAt(policy: policy)
            }
        }
    }

    /// Swift's heap object header plus an array's count and capacity.
    static let heapObjectHeaderBytes = 32
    /// One run of a sliding-window log.
    static let bytesPerRun = MemoryLayout<SlidingWindowLog.Run>.stride
    /// A dictionary slot (key and entry) times 1.5, the typical ratio of slots to elements in a hash table kept
    /// between 3/8 and 3/4 full.
    static let dictionarySlotBytes = (MemoryLayout<String>.stride + MemoryLayout<MemoryEntry>.stride) * 3 / 2

    private(set) var state: State
    /// When `state` becomes indistinguishable from a new key's, in milliseconds since the epoch.
    private(set) var expiresAt: Int64

    /// The entry of a key never seen before under `policy`.
    init(policy: RateLimitPolicy, now: Int64) {
        state = State(policy: policy, now: now)
        expiresAt = .min
    }

    /// Heap bytes a key's characters occupy: none for strings of up to 15 UTF-8 bytes, which Swift stores inline.
    static func heapBytes(ofKey key: String) -> Int {
        let utf8Count = key.utf8.count
        return utf8Count <= 15 ? 0 : heapObjectHeaderBytes + utf8Count + 1
    }

    /// Checks the request against the state, starting over if the key was last used with another algorithm.
    ///
    /// - Returns: The decision, and by how much the state's heap bytes changed.
    mutating func check(
        cost: Int,
        now: Int64,
        policy: RateLimitPolicy
    ) -> (decision: Decision, heapByteChange: Int) {
        let heapBytesBefore = state.heapBytes
        if state.algorithm != policy.algorithm {
            state = State(policy: policy, now: now)
        }
        let decision = state.check(cost: cost, now: now, policy: policy)
        expiresAt = state.expiresAt(policy: policy)
        return (decision, state.heapBytes - heapBytesBefore)
    }
}
