import Dispatch

/// Runs blocking fixture work (starting processes, `redis-cli`, waiting loops) on a Dispatch
/// thread instead of Swift's cooperative pool: the pool has one thread per core, and a test that
/// blocks one starves every other test running beside it.
///
/// ```swift
/// let cluster = try await offPool { try RedisCluster(primaries: 3) }
/// ```
public func offPool<T: Sendable>(_ body: @escaping @Sendable () throws -> T) async throws -> T {
    try await withCheckedThrowingContinuation { continuation in
        DispatchQueue.global().async { continuation.resume(with: Result { try body() }) }
    }
}
