import Synchronization

/// A ``MemoryStore``'s shards, each behind its own lock, in one allocation that the store owns.
///
/// Each lock and its shard start on their own 128-byte boundary (two cache lines, the unit Intel's adjacent-line
/// prefetcher fetches), so threads working on neighbouring shards do not invalidate each other's cache lines.
/// Reaching a shard is pointer arithmetic: no array bounds check and no reference count to bump on a shared
/// object, which would bounce its cache line between cores on every check.
///
/// `@unchecked Sendable`: the allocation is written only by `init` and `deinit`; in between every access to a
/// shard goes through its `Mutex`.
struct MemoryShards: ~Copyable, @unchecked Sendable {
    private typealias LockedShard = Mutex<MemoryShard>

    private static let alignment = 128
    private static let stride = (MemoryLayout<LockedShard>.stride + alignment - 1) / alignment * alignment

    /// How many shards there are.
    let count: Int
    private let base: UnsafeMutableRawPointer

    /// Creates one empty shard per element of `capacities`, holding at most that many keys.
    init(capacities: [Int]) {
        count = capacities.count
        base = UnsafeMutableRawPointer.allocate(byteCount: count * Self.stride, alignment: Self.alignment)
        for (index, capacity) in capacities.enumerated() {
            (base + index * Self.stride).bindMemory(to: LockedShard.self, capacity: 1)
                .initialize(to: Mutex(MemoryShard(capacity: capacity)))
        }
    }

    deinit {
        for index in 0..<count {
            shard(index).deinitialize(count: 1)
        }
        base.deallocate()
    }

    /// Runs `body` with exclusive access to shard `index`.
    func withLock<Result: Sendable>(shard index: Int, _ body: (inout MemoryShard) -> Result) -> Result {
        shard(index).pointee.withLock { body(&$0) }
    }

    private func shard(_ index: Int) -> UnsafeMutablePointer<LockedShard> {
        (base + index * Self.stride).assumingMemoryBound(to: LockedShard.self)
    }
}
