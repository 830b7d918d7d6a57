import SluiceNet
import SluiceRedis

/// Coalesces one loop turn's cost-1 fixed-window checks of the same counter into one
/// `INCRBY counter n` (and one `PEXPIRE … NX`): a hot key — a per-route rule, a busy client —
/// then costs Redis one command per loop turn instead of one per request.
///
/// Exact: `INCRBY n` is atomic, so the batch's requests take the counts `c − n + 1 … c`, in
/// order, exactly as `n` separate increments would have; each is allowed when its count is
/// within the limit. Loop-confined (hence `@unchecked Sendable`): one batcher per event loop,
/// touched only on its thread.
final class FixedWindowBatcher: @unchecked Sendable {
    private struct Waiter {
        let policy: RateLimitPolicy
        let now: Int64
        let left: Int64
        let completion: (Result<Decision, RateLimitError>) -> Void
    }

    private let router: RedisRouter
    private let expiryGraceMilliseconds: Int64
    private var pending: [String: [Waiter]] = [:]
    private var timeouts: [String: Duration?] = [:]

    init(router: RedisRouter, expiryGraceMilliseconds: Int64) {
        self.router = router
        self.expiryGraceMilliseconds = expiryGraceMilliseconds
    }

    /// Counts one request on `counter`, whose window ends `left` ms after `now`, at the end of
    /// this loop turn. Call on the router's loop.
    func add(
        counter: String, policy: RateLimitPolicy, now: Int64, left: Int64, timeout: Duration?,
        completion: @escaping (Result<Decision, RateLimitError>) -> Void
    ) {
        if pending.isEmpty { router.loop.afterTick { [self] in flush() } }
        if pending[counter] == nil { timeouts[counter] = timeout }
        pending[counter, default: []].append(Waiter(policy: policy, now: now, left: left, completion: completion))
    }

    private func flush() {
        let batches = pending
        let batchTimeouts = timeouts
        pending = [:]
        timeouts = [:]
        for (counter, waiters) in batches {
            let timeout = batchTimeouts[counter] ?? nil
            router.send(["INCRBY", .string(counter), .integer(Int64(waiters.count))], timeout: timeout) { result in
                switch result {
                case .failure(let error):
                    let failure = RateLimitError(
                        message: "rate limit check for \(counter) failed: \(error)", redisError: error)
                    for waiter in waiters { waiter.completion(.failure(failure)) }
                case .success(let value):
                    guard let last = value.int else {
                        let failure = RateLimitError(
                            message: "rate limit check for \(counter): unexpected reply from Redis: \(value)")
                        for waiter in waiters { waiter.completion(.failure(failure)) }
                        return
                    }
                    let first = last - Int64(waiters.count) + 1
                    for (offset, waiter) in waiters.enumerated() {
                        waiter.completion(
                            .success(
                                Self.decision(
                                    count: first + Int64(offset), policy: waiter.policy, left: waiter.left,
                                    now: waiter.now)))
                    }
                }
            }
            router.send(
                ["PEXPIRE", .string(counter), .integer(waiters[0].left + expiryGraceMilliseconds), "NX"],
                timeout: timeout
            ) { _ in }
        }
    }

    /// The decision of the request that took count `count`: allowed while within the limit.
    static func decision(count: Int64, policy: RateLimitPolicy, left: Int64, now: Int64) -> Decision {
        let allowed = count <= Int64(policy.limit)
        return Decision(
            allowed: allowed, limit: policy.limit, remaining: Int(max(0, Int64(policy.limit) - count)),
            resetAfter: .milliseconds(left), retryAfter: allowed ? .zero : .milliseconds(left),
            countedAt: allowed ? now : nil)
    }
}
