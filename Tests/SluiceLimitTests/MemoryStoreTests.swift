import SluiceTestSupport
import Testing

@testable import SluiceLimit

@Suite struct MemoryStoreTests {
    private let start: Int64 = 1_700_000_000_000

    static let thousandPerHour: [RateLimitPolicy] = [
        try! RateLimitPolicy(algorithm: .fixedWindow, limit: 1_000, window: .seconds(3_600)),
        try! RateLimitPolicy(algorithm: .slidingWindow, limit: 1_000, window: .seconds(3_600)),
        try! RateLimitPolicy(algorithm: .tokenBucket, limit: 1_000, window: .seconds(3_600), burst: 1_000),
    ]

    @Test(arguments: thousandPerHour)
    func concurrentChecksOnOneKeyAllowExactlyTheLimit(policy: RateLimitPolicy) async {
        // Mid-window, so the fixed window does not roll over during the test.
        let time = ManualTimeSource(milliseconds: start - start % 3_600_000 + 60_000)
        let store = MemoryStore(timeSource: time)
        let tasks = 64
        let checks = 5_000
        let allowed = await withTaskGroup(of: Int.self) { group in
            for task in 0..<tasks {
                let share = checks / tasks + (task < checks % tasks ? 1 : 0)
                group.addTask {
                    (0..<share).reduce(0) { count, _ in
                        count + (store.check(policy: policy, key: "shared", cost: 1).allowed ? 1 : 0)
                    }
                }
            }
            return await group.reduce(0, +)
        }
        #expect(allowed == 1_000)
        #expect(store.keyCount == 1)
    }

    @Test func keysAreIndependent() throws {
        let policy = try RateLimitPolicy(algorithm: .fixedWindow, limit: 1, window: .seconds(1))
        let store = MemoryStore()
        #expect(store.check(policy: policy, key: "a", cost: 1, now: start).allowed)
        #expect(!store.check(policy: policy, key: "a", cost: 1, now: start).allowed)
        #expect(store.check(policy: policy, key: "b", cost: 1, now: start).allowed)
    }

    @Test(arguments: thousandPerHour)
    func aKeyGivenAsBytesIsTheSameKeyAsItsString(policy: RateLimitPolicy) {
        let store = MemoryStore()
        let key = "api:{203.0.113.7}"
        let longKey = String(repeating: "x", count: 40)  // past the 24 bytes a table slot holds inline
        for (index, name) in [key, longKey].enumerated() {
            let bytes = Array(name.utf8)
            for round in 0..<3 {
                let asString = store.check(policy: policy, key: name, cost: 100, now: start)
                let asBytes = bytes.withUnsafeBytes { store.check(policy: policy, keyUTF8: $0, cost: 100, now: start) }
                // Both forms draw on one quota: 200, 400 then 600 of 1,000 units taken.
                #expect(asString.remaining == 1_000 - 200 * round - 100)
                #expect(asBytes.remaining == 1_000 - 200 * round - 200)
            }
            #expect(store.keyCount == index + 1)
        }
    }

    @Test func readsTheTimeSource() throws {
        let policy = try RateLimitPolicy(algorithm: .slidingWindow, limit: 1, window: .seconds(1))
        let time = ManualTimeSource(milliseconds: start)
        let store = MemoryStore(timeSource: time)
        #expect(store.check(policy: policy, key: "k").allowed)
        time.advance(by: .milliseconds(999))
        #expect(store.check(policy: policy, key: "k").retryAfter == .milliseconds(1))
        time.advance(by: .milliseconds(1))
        #expect(store.check(policy: policy, key: "k").allowed)
    }

    @Test func anotherAlgorithmReplacesTheState() throws {
        let fixed = try RateLimitPolicy(algorithm: .fixedWindow, limit: 1, window: .seconds(60))
        let bucket = try RateLimitPolicy(algorithm: .tokenBucket, limit: 1, window: .seconds(60))
        let store = MemoryStore()
        #expect(store.check(policy: fixed, key: "k", cost: 1, now: start).allowed)
        #expect(!store.check(policy: fixed, key: "k", cost: 1, now: start).allowed)
        #expect(store.check(policy: bucket, key: "k", cost: 1, now: start).allowed)
        #expect(store.check(policy: fixed, key: "k", cost: 1, now: start).allowed)
        #expect(store.keyCount == 1)
    }

    @Test func sweepForgetsExpiredKeys() throws {
        let policy = try RateLimitPolicy(algorithm: .slidingWindow, limit: 5, window: .seconds(1))
        let store = MemoryStore(shardCount: 8)
        for index in 0..<1_000 {
            _ = store.check(policy: policy, key: "client-with-a-long-identity-\(index)", cost: 1, now: start)
        }
        #expect(store.keyCount == 1_000)
        #expect(store.approximateMemoryBytes > 1_000 * 100)

        store.sweep(now: start + 999)
        #expect(store.keyCount == 1_000)
        store.sweep(now: start + 1_000)
        #expect(store.keyCount == 0)
        #expect(store.approximateMemoryBytes == 0)
    }

    @Test func shardsSweepThemselvesAsTheyAreUsed() throws {
        let policy = try RateLimitPolicy(algorithm: .tokenBucket, limit: 10, window: .seconds(1))
        let store = MemoryStore(shardCount: 1)
        for index in 0..<5_000 {
            _ = store.check(policy: policy, key: "idle-\(index)", cost: 1, now: start)
        }
        #expect(store.keyCount == 5_000)  // Each bucket is full again 100 ms later, not before.
        // The first sweep after the idle keys expired finds only the busy key live, and forgets what had expired by
        // the sweep before (nothing); the next, 1,024 checks later, forgets the idle keys.
        for _ in 0..<5_000 {
            _ = store.check(policy: policy, key: "busy", cost: 1, now: start + 1_000)
        }
        #expect(store.keyCount == 1)
    }

    @Test func keysCheckedBetweenSweepsStayThoughTheirStateExpires() throws {
        // Each bucket is full again 100 ms after its check, long before the key's next check a second later.
        let policy = try RateLimitPolicy(algorithm: .tokenBucket, limit: 10, window: .seconds(1))
        let store = MemoryStore(shardCount: 1)
        let keys = (0..<500).map { "client-\($0)" }
        for round in 0..<10 {
            for key in keys {
                #expect(store.check(policy: policy, key: key, cost: 1, now: start + Int64(round) * 1_000).allowed)
                // Sweeps come every 1,024 checks, so every key is checked between two of them: none is forgotten
                // only to be inserted again at its next check.
                if round > 0 {
                    #expect(store.keyCount == keys.count)
                }
            }
        }
        store.sweep(now: start + 10_000)
        #expect(store.keyCount == 0)
    }

    @Test func anExplicitSweepReleasesTheRoomSelfSweepsKeep() throws {
        let policy = try RateLimitPolicy(algorithm: .tokenBucket, limit: 10, window: .seconds(1))
        let store = MemoryStore(shardCount: 1)
        for index in 0..<5_000 {
            _ = store.check(policy: policy, key: "idle-\(index)", cost: 1, now: start)
        }
        for _ in 0..<5_000 {
            _ = store.check(policy: policy, key: "busy", cost: 1, now: start + 1_000)
        }
        #expect(store.keyCount == 1)
        // A sweep in the course of checks keeps the table's room for the keys that were there.
        #expect(store.approximateMemoryBytes > 5_000 * 64)
        store.sweep(now: start + 1_000)
        #expect(store.keyCount == 1)
        #expect(store.approximateMemoryBytes < 2_000)
    }

    @Test func neverHoldsMoreThanMaxKeys() throws {
        let policy = try RateLimitPolicy(algorithm: .slidingWindow, limit: 10, window: .seconds(3_600))
        let store = MemoryStore(shardCount: 4, maxKeys: 100)
        var largest = 0
        for index in 0..<10_000 {
            let now = start + Int64(index)
            let key = "key-\(index)"
            #expect(store.check(policy: policy, key: key, cost: 1, now: now).allowed)
            // The key just checked is never the one evicted.
            #expect(store.check(policy: policy, key: key, cost: 1, now: now).remaining == 8)
            largest = max(largest, store.keyCount)
        }
        #expect(largest == 100)
    }

    @Test func evictsTheSoonestExpiringFirst() throws {
        let short = try RateLimitPolicy(algorithm: .fixedWindow, limit: 1, window: .seconds(1))
        let long = try RateLimitPolicy(algorithm: .fixedWindow, limit: 1, window: .seconds(3_600))
        let store = MemoryStore(shardCount: 1, maxKeys: 16)
        _ = store.check(policy: long, key: "long-lived", cost: 1, now: start)
        for index in 0..<15 {
            _ = store.check(policy: short, key: "short-\(index)", cost: 1, now: start)
        }
        #expect(store.keyCount == 16)
        _ = store.check(policy: long, key: "newcomer", cost: 1, now: start)
        #expect(store.keyCount == 14)
        #expect(!store.check(policy: long, key: "long-lived", cost: 1, now: start).allowed)

        // Once the short windows have ended, making room forgets every expired key, not just enough of them.
        for index in 0..<14 {
            _ = store.check(policy: long, key: "late-\(index)", cost: 1, now: start + 1_000)
        }
        #expect(store.keyCount == 16)
        _ = store.check(policy: long, key: "last", cost: 1, now: start + 1_000)
        #expect(store.keyCount == 14)
        store.sweep(now: start + 1_000)
        #expect(store.keyCount == 14)
    }

    @Test func fewerKeysThanShardsStillBoundsKeys() throws {
        let policy = try RateLimitPolicy(algorithm: .fixedWindow, limit: 1, window: .seconds(60))
        let store = MemoryStore(shardCount: 64, maxKeys: 3)
        for index in 0..<100 {
            _ = store.check(policy: policy, key: "\(index)", cost: 1, now: start)
        }
        #expect(store.keyCount <= 3)
    }

    @Test func memoryEstimateGrowsWithSlidingWindowRuns() throws {
        let policy = try RateLimitPolicy(algorithm: .slidingWindow, limit: 1_000, window: .seconds(60))
        let store = MemoryStore()
        _ = store.check(policy: policy, key: "k", cost: 1, now: start)
        let oneRun = store.approximateMemoryBytes
        for offset in 1..<500 {
            _ = store.check(policy: policy, key: "k", cost: 1, now: start + Int64(offset))
        }
        #expect(store.approximateMemoryBytes >= oneRun + 499 * MemoryEntry.bytesPerRun)
    }

    @Test func keysOfEveryLengthAreKeptApart() throws {
        let policy = try RateLimitPolicy(algorithm: .fixedWindow, limit: 1, window: .seconds(60))
        let store = MemoryStore(shardCount: 2)
        // Lengths on both sides of the 24 bytes kept in a slot, keys differing only in their last byte, and keys
        // that are prefixes of each other.
        var keys: [String] = []
        for length in 0...80 {
            let stem = String(repeating: "k", count: length)
            keys.append(stem)
            if length > 0 {
                keys.append(String(stem.dropLast()) + "x")
            }
        }
        for key in keys {
            #expect(store.check(policy: policy, key: key, now: start).allowed, "first check of \(key.utf8.count) bytes")
        }
        for key in keys {
            #expect(
                !store.check(policy: policy, key: key, now: start).allowed, "second check of \(key.utf8.count) bytes")
        }
        #expect(store.keyCount == keys.count)
    }

    @Test func keysAreComparedAsUTF8Bytes() throws {
        let policy = try RateLimitPolicy(algorithm: .fixedWindow, limit: 1, window: .seconds(60))
        let store = MemoryStore()
        // Equal as Swift strings (canonically equivalent), different bytes: two keys, as in Redis.
        #expect(store.check(policy: policy, key: "caf\u{E9}", now: start).allowed)
        #expect(store.check(policy: policy, key: "cafe\u{301}", now: start).allowed)
        #expect(!store.check(policy: policy, key: "café", now: start).allowed)
        #expect(store.check(policy: policy, key: "клиент-🚦", now: start).allowed)
        #expect(!store.check(policy: policy, key: "клиент-🚦", now: start).allowed)
    }

    @Test func keysSurviveGrowthAndSweeps() throws {
        let short = try RateLimitPolicy(algorithm: .fixedWindow, limit: 1, window: .seconds(1))
        let long = try RateLimitPolicy(algorithm: .fixedWindow, limit: 1, window: .seconds(3_600))
        let store = MemoryStore(shardCount: 1)
        // Alternately short- and long-lived, short and long keys, so sweeps compact slots and key bytes alike.
        let keys = (0..<20_000).map { index in
            index % 3 == 0 ? "\(index)" : "api:{client-with-a-rather-long-identity-\(index)}"
        }
        for (index, key) in keys.enumerated() {
            #expect(store.check(policy: index % 2 == 0 ? short : long, key: key, now: start).allowed)
        }
        #expect(store.keyCount == keys.count)
        store.sweep(now: start + 1_000)
        #expect(store.keyCount == keys.count / 2)
        for (index, key) in keys.enumerated() {
            // Short-lived keys were forgotten and start over; long-lived ones still have their window used up.
            #expect(store.check(policy: long, key: key, now: start + 1_000).allowed == (index % 2 == 0), "\(key)")
        }
        #expect(store.keyCount == keys.count)
    }

    @Test func checksAtTheCallersTimeMatchTheTimeSource() throws {
        let time = ManualTimeSource(milliseconds: start)
        let fromClock = MemoryStore(timeSource: time)
        let fromCaller = MemoryStore(timeSource: ManualTimeSource(milliseconds: 0))
        var random = SplitMix64(seed: 0x7E57)
        for algorithm in RateLimitAlgorithm.allCases {
            let policy = try RateLimitPolicy(algorithm: algorithm, limit: 5, window: .milliseconds(200))
            for _ in 0..<500 {
                time.advance(by: .milliseconds(Int64.random(in: 0...30, using: &random)))
                let key = "client-\(Int.random(in: 0..<4, using: &random))"
                let cost = Int.random(in: 1...2, using: &random)
                #expect(
                    fromClock.check(policy: policy, key: key, cost: cost)
                        == fromCaller.check(policy: policy, key: key, cost: cost, now: time.nowMilliseconds())
                )
            }
        }
    }
}
