import CSluiceLinux

/// A ``MemoryStore``'s shards, each behind its own lock, in one allocation that the store owns.
///
/// Each lock and its shard start on their own 128-byte boundary (two cache lines, the unit Intel's adjacent-line
/// prefetcher fetches), so threads working on neighbouring shards do not invalidate each other's cache lines; the
/// lock word and the shard's own fields share the first line, so taking the lock brings them in.
/// Reaching a shard is pointer arithmetic: no array bounds check and no reference count to bump on a shared
/// object, which would bounce its cache line between cores on every check.
///
/// The lock spins briefly before sleeping (`csluice_lock`): a check holds it for tens of nanoseconds, and
/// Synchronization's `Mutex`, a priority-inheritance futex on Linux, sent every contended acquisition into the
/// kernel — a quarter of the time of two threads checking keys side by side.
///
/// `@unchecked Sendable`: the allocation is written only by `init` and `deinit`; in between every access to a
/// shard goes through its lock.
struct MemoryShards: ~Copyable, @unchecked Sendable {
    private static let alignment = 128
    /// The shard's offset after its lock word.
    private static let shardOffset = max(MemoryLayout<UInt32>.stride, MemoryLayout<MemoryShard>.alignment)
    private static let stride =
        (shardOffset + MemoryLayout<MemoryShard>.stride + alignment - 1) / alignment * alignment

    /// How many shards there are.
    let count: Int
    private let base: UnsafeMutableRawPointer

    /// Creates one empty shard per element of `capacities`, holding at most that many keys.
    init(capacities: [Int]) {
        count = capacities.count
        base = UnsafeMutableRawPointer.allocate(byteCount: count * Self.stride, alignment: Self.alignment)
        for (index, capacity) in capacities.enumerated() {
            lockWord(index).initialize(to: 0)
            shard(index).initialize(to: MemoryShard(capacity: capacity))
        }
    }

    deinit {
        for index in 0..<count {
            shard(index).deinitialize(count: 1)
        }
        base.deallocate()
    }

    /// Runs `body` with exclusive access to shard `index`.
    @inline(__always)
    func withLock<Result: Sendable>(shard index: Int, _ body: (inout MemoryShard) -> Result) -> Result {
        let word = lockWord(index)
        csluice_lock(word)
        defer { csluice_unlock(word) }
        return body(&shard(index).pointee)
    }

    @inline(__always)
    private func lockWord(_ index: Int) -> UnsafeMutablePointer<UInt32> {
        (base + index * Self.stride).bindMemory(to: UInt32.self, capacity: 1)
    }

    @inline(__always)
    private func shard(_ index: Int) -> UnsafeMutablePointer<MemoryShard> {
        (base + index * Self.stride + Self.shardOffset).bindMemory(to: MemoryShard.self, capacity: 1)
    }
}
