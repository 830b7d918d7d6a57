import SluiceNet

/// Coalesces one loop turn's checks of the same key — same policy, cost and time — into one
/// Redis call for all of them: a hot key (a per-route rule, a busy client) then costs Redis one
/// command per loop turn instead of one per request.
///
/// Exact: the call decides the batch atomically as that many checks made one after another, in
/// the order they were made (see `RedisStore` for each algorithm's call). A check made with a
/// budget fails with ``RateLimitError/timedOut`` when the call has not answered within it; one
/// timer serves the whole batch, since its checks all started in the same loop turn. A call that
/// decides one check only goes out at once with ``sendAlone(redisKey:budget:send:completion:)``,
/// under the same budget rule.
/// Loop-confined (hence `@unchecked Sendable`): one batcher per event loop, touched only on its thread.
final class CheckBatcher: @unchecked Sendable {
    typealias Completion = (Result<Decision, RateLimitError>) -> Void
    /// Sends one batch of `count` checks; answers with their decisions in order, or one failure.
    typealias Send = (_ count: Int, _ answer: @escaping (Result<[Decision], RateLimitError>) -> Void) -> Void

    /// Everything that shapes a batch's call; checks with equal keys share one. The Redis key is
    /// not part of it but made from it, once per batch rather than once per check.
    struct Key: Hashable {
        /// The caller's key, which the Redis key extends.
        var key: String
        var algorithm: RateLimitAlgorithm
        var cost: Int
        var limit: Int
        var windowMilliseconds: Int64
        var burst: Int
        /// The client's clock when the call carries it (or decides the fixed window's index), else 0.
        var now: Int64

        /// Equal when every part is, the key byte for byte (see ``ByteKey``).
        static func == (lhs: Key, rhs: Key) -> Bool {
            lhs.algorithm == rhs.algorithm && lhs.cost == rhs.cost && lhs.limit == rhs.limit
                && lhs.windowMilliseconds == rhs.windowMilliseconds && lhs.burst == rhs.burst && lhs.now == rhs.now
                && ByteKey(lhs.key) == ByteKey(rhs.key)
        }

        /// The key's bytes alone: the other parts are nearly always the same for one key, and
        /// hashing them too cost more than the rest of adding a check.
        func hash(into hasher: inout Hasher) {
            hasher.combine(ByteKey(key))
        }
    }

    /// How long a budgeted check may wait for its call, converted to nanoseconds once by the store
    /// rather than for every check (a `Duration` conversion is 128-bit arithmetic).
    struct Budget {
        let duration: Duration
        let nanoseconds: UInt64

        init(_ duration: Duration) {
            self.duration = duration
            nanoseconds = duration.nanoseconds
        }
    }

    /// When budgeted checks give up, and their budget.
    private typealias Deadline = (nanoseconds: UInt64, budget: Duration)

    private struct Batch {
        let key: Key
        /// The Redis key the call updates, for the message of a timeout.
        let redisKey: String
        let send: Send
        /// Set by the first budgeted check: every check of a batch starts in the same loop turn.
        var deadline: Deadline?
        var waiters: [Waiter]

        init(key: Key, redisKey: String, send: @escaping Send) {
            self.key = key
            self.redisKey = redisKey
            self.send = send
            // A batch gathers as many checks as one loop turn reads; a few growth steps saved.
            waiters = []
            waiters.reserveCapacity(8)
        }

        mutating func add(_ waiter: Waiter, deadline: Deadline?) {
            waiters.append(waiter)
            if self.deadline == nil { self.deadline = deadline }
        }
    }

    private struct Waiter {
        let completion: Completion
        let budgeted: Bool
    }

    /// The loop whose checks this batcher gathers.
    let loop: EventLoop
    // `@exclusivity(unchecked)` below: loop-confined state on the per-check path, and no access
    // spans a call that could reach it again (checks added while a turn's batches go out land in
    // `batches`, never in `flushing`).
    /// This turn's batches, in the order their first checks came.
    @exclusivity(unchecked) private var batches: [Batch] = []
    /// Where each key's batch is in `batches`.
    @exclusivity(unchecked) private var batchIndexes: [Key: Int] = [:]
    /// The batches being sent; swapped with `batches`, so that neither array is allocated anew each turn.
    @exclusivity(unchecked) private var flushing: [Batch] = []

    init(loop: EventLoop) {
        self.loop = loop
    }

    /// Adds a check to the batch of `key`; the batch goes out at the end of this loop turn with
    /// the `Send` that `send` makes for it from its Redis key. With a `budget`, the check fails if
    /// the call has not answered within it. `redisKey` and `send` are called for a new batch only.
    ///
    /// A check of the key of the batch before it (a hot key: every check of a turn, when one rule
    /// keys on something all clients share) joins that batch after comparing the keys, without
    /// hashing.
    func add(
        batch key: Key, redisKey: @autoclosure () -> String, budget: Budget?, send: (_ redisKey: String) -> Send,
        completion: @escaping Completion
    ) {
        if batches.isEmpty { loop.afterTick { [self] in flush() } }
        var index = batches.count - 1
        if index < 0 || batches[index].key != key {
            index = Self.claim(&batchIndexes[key, default: batches.count])
            if index == batches.count {
                let redisKey = redisKey()
                batches.append(Batch(key: key, redisKey: redisKey, send: send(redisKey)))
            }
        }
        batches[index].add(Waiter(completion: completion, budgeted: budget != nil), deadline: deadline(of: budget))
    }

    /// The value in `slot`: given `batchIndexes[key, default: next]`, the index of the key's batch,
    /// recording `next` for a new key with the one hash of the lookup.
    private static func claim(_ slot: inout Int) -> Int {
        slot
    }

    /// Sends a call that decides one check, now rather than with a batch: `send` is called with a
    /// count of 1 and answers with one decision. With a `budget`, the check fails if the call has
    /// not answered within it.
    func sendAlone(redisKey: String, budget: Budget?, send: Send, completion: @escaping Completion) {
        start(
            send, waiters: [Waiter(completion: completion, budgeted: budget != nil)], deadline: deadline(of: budget),
            redisKey: redisKey)
    }

    private func deadline(of budget: Budget?) -> Deadline? {
        budget.map { (loop.tickTime &+ $0.nanoseconds, $0.duration) }
    }

    private func flush() {
        swap(&batches, &flushing)
        batchIndexes.removeAll(keepingCapacity: true)
        for batch in flushing {
            start(batch.send, waiters: batch.waiters, deadline: batch.deadline, redisKey: batch.redisKey)
        }
        flushing.removeAll(keepingCapacity: true)
    }

    /// Sends one call for `waiters`, racing it against `deadline` when there is one.
    private func start(_ send: Send, waiters: [Waiter], deadline: Deadline?, redisKey: String) {
        let call = BatchCall(waiters: waiters)
        if let deadline {
            call.timer = loop.schedule(atNanoseconds: deadline.nanoseconds) {
                call.timeOut(
                    RateLimitError(
                        message: "no answer from Redis within \(deadline.budget) for \(redisKey)", timedOut: true))
            }
        }
        send(waiters.count) { [loop] result in
            if let timer = call.timer { loop.cancel(timer) }
            call.finish(result)
        }
    }

    /// One batch in flight: its waiters, and the timer of its budget. Each waiter is answered
    /// once, by whichever of the budget and the reply comes first.
    private final class BatchCall {
        /// Kept as they came: a copy as `[Waiter?]`, to mark the answered ones, would cast every element.
        private let waiters: [Waiter]
        /// The budget passed, so the budgeted waiters have had their answer.
        private var timedOut = false
        /// The reply came, so every waiter has had its answer.
        private var finished = false
        var timer: TimerID?

        init(waiters: [Waiter]) {
            self.waiters = waiters
        }

        /// The budget passed: budgeted waiters fail now; the others wait on for the reply.
        func timeOut(_ error: RateLimitError) {
            timer = nil
            guard !finished, !timedOut else { return }
            timedOut = true
            for waiter in waiters where waiter.budgeted {
                waiter.completion(.failure(error))
            }
        }

        /// The reply: every waiter not yet answered gets its decision, or the call's failure.
        func finish(_ result: Result<[Decision], RateLimitError>) {
            guard !finished else { return }
            finished = true
            for (index, waiter) in waiters.enumerated() where !(timedOut && waiter.budgeted) {
                switch result {
                case .failure(let error): waiter.completion(.failure(error))
                case .success(let decisions) where index < decisions.count:
                    waiter.completion(.success(decisions[index]))
                case .success:
                    waiter.completion(.failure(RateLimitError(message: "Redis decided fewer checks than were sent")))
                }
            }
        }
    }
}
