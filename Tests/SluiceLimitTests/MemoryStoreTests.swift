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
        for _ in 0..<5_000 {
            _ = store.check(policy: policy, key: "busy", cost: 1, now: start + 1_000)
        }
        #expect(store.keyCount == 1)
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
}
