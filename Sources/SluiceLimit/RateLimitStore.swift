import SluiceNet

/// Where counts live: ``MemoryStore`` in this process, or ``RedisStore`` shared by many.
///
/// A store decides one check atomically: concurrent checks on the same key never see each
/// other's partial work, so no request is allowed beyond the limit and none is denied under it.
/// Stores are given the full key (see ``RateLimitKey``) and may add their own prefix.
public protocol RateLimitStore: Sendable {
    /// Decides on an event loop, the server's way: called on `loop`, and `completion` runs on
    /// `loop` too — possibly before this call returns (the memory store answers at once).
    func check(
        policy: RateLimitPolicy, key: String, cost: Int, on loop: EventLoop,
        completion: @escaping (Result<Decision, RateLimitError>) -> Void)

    /// Decides from any task, the library's way.
    func check(policy: RateLimitPolicy, key: String, cost: Int) async throws(RateLimitError) -> Decision

    /// Gives back the `cost` units an allowed check of `key` took at `countedAt` (its decision's
    /// ``Decision/countedAt``), because a later check denied the same request: the server's
    /// rules are all-or-nothing, a denial consumes from none. Called on `loop`; best effort — a
    /// refund the store cannot make leaves the units taken, which can deny early but never
    /// allow beyond the limit. `completion` runs on `loop`.
    ///
    /// Until the refund lands, the units count: a concurrent request may be denied in that
    /// moment as though the denied request had passed.
    func refund(
        policy: RateLimitPolicy, key: String, cost: Int, countedAt: Int64, on loop: EventLoop,
        completion: @escaping (Result<Void, RateLimitError>) -> Void)

    /// Gives back what an allowed check took, from any task; see
    /// ``refund(policy:key:cost:countedAt:on:completion:)``.
    func refund(policy: RateLimitPolicy, key: String, cost: Int, countedAt: Int64) async throws(RateLimitError)
}

extension MemoryStore: RateLimitStore {
    /// Decides at once; the memory store cannot fail. On the system clock it uses the loop's
    /// once-per-iteration reading instead of reading the clock for every check.
    public func check(
        policy: RateLimitPolicy, key: String, cost: Int, on loop: EventLoop,
        completion: @escaping (Result<Decision, RateLimitError>) -> Void
    ) {
        let decision =
            usesSystemClock
            ? check(policy: policy, key: key, cost: cost, now: loop.tickWallClockMilliseconds)
            : check(policy: policy, key: key, cost: cost)
        completion(.success(decision))
    }

    /// Decides at once; the memory store cannot fail.
    public func check(policy: RateLimitPolicy, key: String, cost: Int) async throws(RateLimitError) -> Decision {
        let decide: (RateLimitPolicy, String, Int) -> Decision = check(policy:key:cost:)  // the synchronous one
        return decide(policy, key, cost)
    }

    /// Gives back at once.
    public func refund(
        policy: RateLimitPolicy, key: String, cost: Int, countedAt: Int64, on loop: EventLoop,
        completion: @escaping (Result<Void, RateLimitError>) -> Void
    ) {
        refund(policy: policy, key: key, cost: cost, countedAt: countedAt)
        completion(.success(()))
    }
}
