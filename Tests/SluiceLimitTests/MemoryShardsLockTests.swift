import Foundation
import SluiceTestSupport
import Testing

@testable import SluiceLimit

@Suite struct MemoryShardsLockTests {
    /// Threads checking one key at once: two holders of its shard's lock at the same time would
    /// lose counts, which would show in the remaining quota.
    @Test func threadsCheckingOneKeyLoseNoCount() async throws {
        let store = MemoryStore(shardCount: 1)
        let policy = try RateLimitPolicy(algorithm: .fixedWindow, limit: 1_000_000_000, window: .seconds(3_600))
        let threads = 4
        let checks = 50_000
        try await offPool {
            let group = DispatchGroup()
            for _ in 0..<threads {
                group.enter()
                Thread {
                    for _ in 0..<checks { _ = store.check(policy: policy, key: "one", cost: 1, now: 1_000) }
                    group.leave()
                }.start()
            }
            group.wait()
        }
        let last = store.check(policy: policy, key: "one", cost: 1, now: 1_000)
        #expect(last.remaining == policy.limit - threads * checks - 1)
    }

    /// A waiter held off far longer than its spin (it then sleeps on the futex) stays out while
    /// the lock is held and is woken when the holder lets go: a lost wake-up would leave it waiting.
    @Test func aWaiterHeldOffPastItsSpinIsWokenWhenTheHolderLetsGo() async throws {
        let box = ShardsBox()
        let waited = try await offPool {
            let holding = DispatchSemaphore(value: 0)
            let done = DispatchSemaphore(value: 0)
            Thread {
                box.shards.withLock(shard: 0) { _ in
                    holding.signal()
                    usleep(50_000)
                }
            }.start()
            holding.wait()
            let started = Date()
            Thread {
                box.shards.withLock(shard: 0) { _ in }
                done.signal()
            }.start()
            let woke = done.wait(timeout: .now() + 5) == .success
            return woke ? Date().timeIntervalSince(started) : nil
        }
        #expect(waited != nil, "the waiter was never woken")
        #expect((waited ?? 0) >= 0.02, "the waiter got in while the lock was held")
    }

    /// Shards are noncopyable; a class lets two threads share them.
    private final class ShardsBox: Sendable {
        let shards = MemoryShards(capacities: [16])
    }
}
