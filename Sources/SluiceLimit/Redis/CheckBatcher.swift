import SluiceNet

/// Coalesces checks of the same key — same policy, cost and time — into one Redis call for all
/// of them: a hot key (a per-route rule, a busy client) then costs Redis one command per round
/// trip instead of one per request.
///
/// A loop turn's checks of a key form a batch, sent at the end of the turn. While a key's call
/// is in flight, its next batches are held, merged, and go out as one call when the reply
/// comes: one call in flight per key, so the busier the key the more checks a call decides,
/// and Redis's work grows with round trips rather than with requests. A check made while its
/// key is idle goes out at the end of its turn, as before.
///
/// Exact: the call decides the batch atomically as that many checks made one after another, in
/// the order they were made (see `RedisStore` for each algorithm's call). A check made
/// `budgeted` fails with ``RateLimitError/timedOut`` when its call has not answered within the
/// batcher's budget of the check's turn — also while it is held, and then it is never sent, so
/// a Redis that answers late does not count a request decided without it. A call that decides
/// one check only goes out at once with ``sendAlone(redisKey:budgeted:send:completion:)``,
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

    /// A deadline that never comes: the waiter of a check made without a budget.
    private static let never = UInt64.max

    private struct Batch {
        let key: Key
        /// The Redis key the call updates, for the message of a timeout.
        let redisKey: String
        let send: Send
        /// In the order their checks came, so their deadlines never decrease (one budget for all).
        var waiters: [Waiter]

        init(key: Key, redisKey: String, send: @escaping Send) {
            self.key = key
            self.redisKey = redisKey
            self.send = send
            // A batch gathers as many checks as one loop turn reads; a few growth steps saved.
            waiters = []
            waiters.reserveCapacity(8)
        }

        /// The first deadline of a budgeted waiter, or ``never``.
        var firstDeadline: UInt64 {
            waiters.first { $0.deadline != CheckBatcher.never }?.deadline ?? CheckBatcher.never
        }
    }

    private struct Waiter {
        let completion: Completion
        /// When a budgeted check gives up (a ``MonotonicClock`` reading), or ``never``.
        let deadline: UInt64
    }

    /// A key with a call in flight: the checks held for its next call, and the timer that fails
    /// the budgeted ones among them whose budget passes first.
    private struct InFlight {
        var held: Batch?
        var timer: TimerID?
    }

    /// The loop whose checks this batcher gathers.
    let loop: EventLoop
    /// How long a budgeted check waits, from the turn it was made in.
    private let budget: Budget?
    // `@exclusivity(unchecked)` below: loop-confined state on the per-check path, and no access
    // spans a call that could reach it again (checks added while a turn's batches go out land in
    // `batches`, never in `flushing`; completions run after the state they see is updated).
    /// This turn's batches, in the order their first checks came.
    @exclusivity(unchecked) private var batches: [Batch] = []
    /// Where each key's batch is in `batches`.
    @exclusivity(unchecked) private var batchIndexes: [Key: Int] = [:]
    /// The batches being sent; swapped with `batches`, so that neither array is allocated anew each turn.
    @exclusivity(unchecked) private var flushing: [Batch] = []
    /// The keys whose call has not answered yet.
    @exclusivity(unchecked) private var inFlight: [Key: InFlight] = [:]

    init(loop: EventLoop, budget: Budget?) {
        self.loop = loop
        self.budget = budget
    }

    /// Adds a check to the batch of `key`; the batch goes out at the end of this loop turn, or
    /// when the key's call in flight answers, with the `Send` that `send` makes for it from its
    /// Redis key. A `budgeted` check fails if its call has not answered within the budget.
    /// `redisKey` and `send` are called for a new batch only.
    ///
    /// A check of the key of the batch before it (a hot key: every check of a turn, when one rule
    /// keys on something all clients share) joins that batch after comparing the keys, without
    /// hashing.
    func add(
        batch key: Key, redisKey: @autoclosure () -> String, budgeted: Bool, send: (_ redisKey: String) -> Send,
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
        batches[index].waiters.append(Waiter(completion: completion, deadline: deadline(budgeted: budgeted)))
    }

    /// The value in `slot`: given `batchIndexes[key, default: next]`, the index of the key's batch,
    /// recording `next` for a new key with the one hash of the lookup.
    private static func claim(_ slot: inout Int) -> Int {
        slot
    }

    /// Sends a call that decides one check, now rather than with a batch: `send` is called with a
    /// count of 1 and answers with one decision. A `budgeted` check fails if the call has not
    /// answered within the budget.
    func sendAlone(redisKey: String, budgeted: Bool, send: Send, completion: @escaping Completion) {
        start(
            send, waiters: [Waiter(completion: completion, deadline: deadline(budgeted: budgeted))], redisKey: redisKey)
    }

    private func deadline(budgeted: Bool) -> UInt64 {
        guard budgeted, let budget else { return Self.never }
        return loop.tickTime &+ budget.nanoseconds
    }

    /// Sends this turn's batches, or holds those whose key has a call in flight.
    private func flush() {
        swap(&batches, &flushing)
        batchIndexes.removeAll(keepingCapacity: true)
        for batch in flushing {
            if inFlight[batch.key] != nil {
                hold(batch)
                continue
            }
            inFlight[batch.key] = InFlight()
            start(batch.send, waiters: batch.waiters, redisKey: batch.redisKey) { [self] in release(batch.key) }
        }
        flushing.removeAll(keepingCapacity: true)
    }

    /// Adds `batch` to the checks held for its key's next call.
    private func hold(_ batch: Batch) {
        let key = batch.key
        guard var held = inFlight[key]!.held else {
            inFlight[key]!.held = batch
            scheduleExpiry(of: key, at: batch.firstDeadline)
            return
        }
        held.waiters.append(contentsOf: batch.waiters)
        inFlight[key]!.held = held
        if inFlight[key]!.timer == nil { scheduleExpiry(of: key, at: batch.firstDeadline) }
    }

    private func scheduleExpiry(of key: Key, at deadline: UInt64) {
        guard deadline != Self.never else { return }
        inFlight[key]!.timer = loop.schedule(atNanoseconds: deadline) { [self] in expireHeld(key) }
    }

    /// The budget of some held checks of `key` passed: they fail now and will not be sent.
    private func expireHeld(_ key: Key) {
        guard var held = inFlight[key]?.held else { return }
        inFlight[key]!.timer = nil
        let now = loop.tickTime
        let expired = held.waiters.filter { $0.deadline <= now }
        held.waiters.removeAll { $0.deadline <= now }
        inFlight[key]!.held = held.waiters.isEmpty ? nil : held
        if !held.waiters.isEmpty { scheduleExpiry(of: key, at: held.firstDeadline) }
        let error = timeout(for: held.redisKey)
        for waiter in expired { waiter.completion(.failure(error)) }
    }

    /// `key`'s call answered: its held checks join this turn's batch of the key, ahead of the
    /// checks made in this turn, and go out at its end.
    private func release(_ key: Key) {
        guard let entry = inFlight.removeValue(forKey: key) else { return }
        if let timer = entry.timer { loop.cancel(timer) }
        guard let held = entry.held else { return }
        if batches.isEmpty { loop.afterTick { [self] in flush() } }
        let index = Self.claim(&batchIndexes[key, default: batches.count])
        if index == batches.count {
            batches.append(held)
        } else {
            batches[index].waiters.insert(contentsOf: held.waiters, at: 0)
        }
    }

    private func timeout(for redisKey: String) -> RateLimitError {
        RateLimitError(message: "no answer from Redis within \(budget!.duration) for \(redisKey)", timedOut: true)
    }

    /// Sends one call for `waiters`, failing the budgeted ones whose budget passes before the
    /// reply; `answered` runs once the reply is in, before the waiters hear it.
    private func start(_ send: Send, waiters: [Waiter], redisKey: String, answered: @escaping () -> Void = {}) {
        let call = BatchCall(waiters: waiters)
        scheduleTimeOut(of: call, at: call.firstDeadline(after: 0), redisKey: redisKey)
        send(waiters.count) { [loop] result in
            if let timer = call.timer { loop.cancel(timer) }
            answered()
            call.finish(result)
        }
    }

    private func scheduleTimeOut(of call: BatchCall, at deadline: UInt64, redisKey: String) {
        guard deadline != Self.never else { return }
        call.timer = loop.schedule(atNanoseconds: deadline) { [self] in
            let now = loop.tickTime
            call.timeOut(through: now, timeout(for: redisKey))
            scheduleTimeOut(of: call, at: call.firstDeadline(after: now), redisKey: redisKey)
        }
    }

    /// One batch in flight: its waiters, and the timer of the next budget to pass. Each waiter
    /// is answered once, by whichever of its budget and the reply comes first.
    private final class BatchCall {
        /// Kept as they came: a copy as `[Waiter?]`, to mark the answered ones, would cast every element.
        private let waiters: [Waiter]
        /// Waiters whose deadline is at or before this have failed.
        private var timedOutThrough: UInt64 = 0
        /// The reply came, so every waiter has had its answer.
        private var finished = false
        var timer: TimerID?

        init(waiters: [Waiter]) {
            self.waiters = waiters
        }

        /// The first deadline after `time` of a budgeted waiter, or ``never`` (also once answered).
        func firstDeadline(after time: UInt64) -> UInt64 {
            guard !finished else { return CheckBatcher.never }
            return waiters.first { $0.deadline > time && $0.deadline != CheckBatcher.never }?.deadline
                ?? CheckBatcher.never
        }

        /// The budgets ending at or before `time` passed: those waiters fail now; the others
        /// wait on for the reply.
        func timeOut(through time: UInt64, _ error: RateLimitError) {
            timer = nil
            guard !finished, time > timedOutThrough else { return }
            let previous = timedOutThrough
            timedOutThrough = time
            for waiter in waiters where waiter.deadline > previous && waiter.deadline <= time {
                waiter.completion(.failure(error))
            }
        }

        /// The reply: every waiter not yet answered gets its decision, or the call's failure.
        func finish(_ result: Result<[Decision], RateLimitError>) {
            guard !finished else { return }
            finished = true
            for (index, waiter) in waiters.enumerated() where waiter.deadline > timedOutThrough {
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
