import SluiceNet

/// Coalesces checks of the same key — same policy, cost and time — into one Redis call for all
/// of them: a hot key (a per-route rule, a busy client) then costs Redis one command per round
/// trip instead of one per request.
///
/// A loop turn's checks of a key form a batch, sent at the end of the turn. While calls for its
/// Redis key are in flight, a batch whose call does not carry the time (a script on Redis's
/// clock) is held, joining the last one held if it has the same key, and the held batches go
/// out together, in order, once those calls have all answered: the busier the key, the more
/// checks a call decides, and Redis's work grows with round trips rather than with requests.
/// A batch whose call carries the time (a fixed window's) is sent at once: it could only merge
/// with checks of its own millisecond. Calls for one Redis key reach Redis in the order their
/// checks were made.
///
/// Exact: the call decides the batch atomically as that many checks made one after another, in
/// the order they were made (see `RedisStore` for each algorithm's call). A check made
/// `budgeted` fails with ``RateLimitError/timedOut`` when its call has not answered within the
/// batcher's budget of the check's turn. One whose budget passes while it is held is never
/// sent, and a call's command is dropped unsent once the first budget of its checks passes, so
/// that a Redis that answers late does not count a request decided without it.
/// Loop-confined (hence `@unchecked Sendable`): one batcher per event loop, touched only on its thread.
final class CheckBatcher: @unchecked Sendable {
    typealias Completion = (Result<Decision, RateLimitError>) -> Void
    /// Sends one batch of `count` checks, as a command dropped unsent once `timeout` passes (nil:
    /// the client's command timeout); answers with their decisions in order, or one failure.
    typealias Send = (
        _ count: Int, _ timeout: Duration?, _ answer: @escaping (Result<[Decision], RateLimitError>) -> Void
    ) -> Void

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

        /// The call carries the client's time, so only checks of the same millisecond can share it.
        var carriesTime: Bool { now != 0 }

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
        /// The Redis key the call updates: calls of one are sent in order, one round at a time.
        let redisKey: String
        let send: Send
        /// In the order their checks came, so the deadlines of the budgeted ones never decrease
        /// (one budget for all).
        private(set) var waiters: [Waiter]
        /// The deadline of the first budgeted waiter, or ``never``: kept as waiters join, so that
        /// sending a batch of unbudgeted checks does not read them all to find none.
        private(set) var firstDeadline = CheckBatcher.never

        init(key: Key, redisKey: String, send: @escaping Send) {
            self.key = key
            self.redisKey = redisKey
            self.send = send
            // A batch gathers as many checks as one loop turn reads; a few growth steps saved.
            waiters = []
            waiters.reserveCapacity(8)
        }

        mutating func append(_ waiter: Waiter) {
            waiters.append(waiter)
            if firstDeadline == CheckBatcher.never { firstDeadline = waiter.deadline }
        }

        mutating func append(contentsOf batch: Batch) {
            waiters.append(contentsOf: batch.waiters)
            if firstDeadline == CheckBatcher.never { firstDeadline = batch.firstDeadline }
        }

        /// Removes the waiters whose deadline is at or before `time`, and returns them.
        mutating func removeWaiters(expiredBy time: UInt64) -> [Waiter] {
            let expired = waiters.filter { $0.deadline <= time }
            waiters.removeAll { $0.deadline <= time }
            firstDeadline = waiters.first { $0.deadline != CheckBatcher.never }?.deadline ?? CheckBatcher.never
            return expired
        }
    }

    private struct Waiter {
        let completion: Completion
        /// When a budgeted check gives up (a ``MonotonicClock`` reading), or ``never``.
        let deadline: UInt64
    }

    /// A Redis key with calls in flight: how many have not answered, the batches held for the
    /// next round (in the order they came), and the timer that fails the held checks whose
    /// budget passes first.
    private struct InFlight {
        var unanswered = 0
        var held: [Batch] = []
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
    /// The Redis keys whose calls have not all answered yet.
    @exclusivity(unchecked) private var inFlight: [ByteKey: InFlight] = [:]

    init(loop: EventLoop, budget: Budget?) {
        self.loop = loop
        self.budget = budget
    }

    /// Adds a check to the batch of `key`; the batch goes out at the end of this loop turn, or
    /// once the calls in flight for its Redis key have answered, with the `Send` that `send`
    /// makes for it from its Redis key. A `budgeted` check fails if its call has not answered
    /// within the budget. `redisKey` and `send` are called for a new batch only.
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
        batches[index].append(Waiter(completion: completion, deadline: deadline(budgeted: budgeted)))
    }

    /// The value in `slot`: given `batchIndexes[key, default: next]`, the index of the key's batch,
    /// recording `next` for a new key with the one hash of the lookup.
    private static func claim(_ slot: inout Int) -> Int {
        slot
    }

    /// Sends a call that decides one check, now rather than with a batch: `send` is called with a
    /// count of 1 and answers with one decision. A `budgeted` check fails if the call has not
    /// answered within the budget.
    func sendAlone(redisKey: String, budgeted: Bool, send: @escaping Send, completion: @escaping Completion) {
        let waiter = Waiter(completion: completion, deadline: deadline(budgeted: budgeted))
        start(send, waiters: [waiter], firstDeadline: waiter.deadline, redisKey: redisKey)
    }

    private func deadline(budgeted: Bool) -> UInt64 {
        guard budgeted, let budget else { return Self.never }
        return loop.tickTime &+ budget.nanoseconds
    }

    /// Sends this turn's batches, or holds those whose Redis key has calls in flight.
    private func flush() {
        swap(&batches, &flushing)
        batchIndexes.removeAll(keepingCapacity: true)
        for batch in flushing { dispatch(batch) }
        flushing.removeAll(keepingCapacity: true)
    }

    /// Sends `batch`, or holds it behind the calls in flight for its Redis key, joining the last
    /// batch held when that one has the same key, so that calls still go out in the order their
    /// checks came. Only a batch whose call does not carry the time is ever held: one that does
    /// (a fixed window's, a script's on the client's clock, a call of one check) could only
    /// merge with checks of its own millisecond, so holding it would cost a round trip and save
    /// no call; it goes out at once, behind the calls before it on the connection. A Redis key's
    /// batches all carry the time or none do (the key names the algorithm, and a store has one
    /// clock), so nothing is ever held ahead of one that is sent at once.
    private func dispatch(_ batch: Batch) {
        guard !batch.key.carriesTime else { return start(batch) }
        let redisKey = ByteKey(batch.redisKey)
        switch Self.enter(batch, into: &inFlight[redisKey, default: InFlight()]) {
        case .send: start(batch) { [self] in answered(redisKey) }
        case .held(let armExpiry): if armExpiry { scheduleExpiry(of: redisKey) }
        }
    }

    /// What ``enter(_:into:)`` did with a batch.
    private enum Entry {
        /// Nothing was in flight: the batch starts a round, and goes out now.
        case send
        /// The batch waits for the round in flight; the held checks had no expiry timer yet.
        case held(armExpiry: Bool)
    }

    /// Enters `batch` in the state of its Redis key (a new one when nothing was in flight), with
    /// the one hash of the lookup.
    private static func enter(_ batch: Batch, into entry: inout InFlight) -> Entry {
        guard entry.unanswered > 0 else {
            entry.unanswered = 1
            return .send
        }
        if entry.held.last?.key == batch.key {
            entry.held[entry.held.count - 1].append(contentsOf: batch)
        } else {
            entry.held.append(batch)
        }
        return .held(armExpiry: entry.timer == nil)
    }

    /// One call for `redisKey` answered; once the round's last has, the batches held meanwhile
    /// go out as the next round, but for the checks among them whose budget has passed.
    private func answered(_ redisKey: ByteKey) {
        guard Self.roundEnds(&inFlight[redisKey]!) else { return }
        let entry = inFlight.removeValue(forKey: redisKey)!
        if let timer = entry.timer { loop.cancel(timer) }
        let (next, expired) = Self.removeExpired(from: entry.held, at: loop.tickTime)
        if !next.isEmpty {
            inFlight[redisKey] = InFlight(unanswered: next.count)
            for batch in next { start(batch) { [self] in answered(redisKey) } }
        }
        fail(expired, redisKey: redisKey.text)
    }

    /// Counts one answer of the round in `entry`: true when it was the last.
    private static func roundEnds(_ entry: inout InFlight) -> Bool {
        entry.unanswered -= 1
        return entry.unanswered == 0
    }

    /// Arms the timer that fails the held checks of `redisKey` whose budget passes first, if any has one.
    private func scheduleExpiry(of redisKey: ByteKey) {
        let deadline = Self.firstDeadline(of: inFlight[redisKey]!.held)
        guard deadline != Self.never else { return }
        inFlight[redisKey]!.timer = loop.schedule(atNanoseconds: deadline) { [self] in expireHeld(redisKey) }
    }

    /// The budget of some held checks of `redisKey` passed: they fail now and will not be sent.
    private func expireHeld(_ redisKey: ByteKey) {
        guard inFlight[redisKey] != nil else { return }
        let (held, expired) = Self.removeExpired(from: inFlight[redisKey]!.held, at: loop.tickTime)
        inFlight[redisKey]!.held = held
        inFlight[redisKey]!.timer = nil
        scheduleExpiry(of: redisKey)
        fail(expired, redisKey: redisKey.text)
    }

    /// `batches` without the waiters whose deadline is at or before `time` (and without the
    /// batches left empty), and those waiters.
    private static func removeExpired(from batches: [Batch], at time: UInt64) -> (kept: [Batch], expired: [Waiter]) {
        var expired: [Waiter] = []
        var kept = batches
        for index in kept.indices where kept[index].firstDeadline <= time {
            expired.append(contentsOf: kept[index].removeWaiters(expiredBy: time))
        }
        kept.removeAll { $0.waiters.isEmpty }
        return (kept, expired)
    }

    /// The first deadline of a budgeted waiter of `batches`, or ``never``.
    private static func firstDeadline(of batches: [Batch]) -> UInt64 {
        batches.lazy.map(\.firstDeadline).first { $0 != never } ?? never
    }

    private func fail(_ waiters: [Waiter], redisKey: String) {
        guard !waiters.isEmpty else { return }
        let error = timeout(for: redisKey)
        for waiter in waiters { waiter.completion(.failure(error)) }
    }

    private func timeout(for redisKey: String) -> RateLimitError {
        RateLimitError(message: "no answer from Redis within \(budget!.duration) for \(redisKey)", timedOut: true)
    }

    /// Sends one call for `batch`, failing its budgeted waiters whose budget passes before the
    /// reply; `answered` runs once, when the reply is in, before the waiters hear it. The
    /// command may wait for Redis until the first budget of its waiters passes (a held batch's
    /// came before it was sent), and is dropped if not yet written by then.
    private func start(_ batch: Batch, answered: @escaping () -> Void = {}) {
        start(
            batch.send, waiters: batch.waiters, firstDeadline: batch.firstDeadline, redisKey: batch.redisKey,
            answered: answered)
    }

    private func start(
        _ send: Send, waiters: [Waiter], firstDeadline: UInt64, redisKey: String, answered: @escaping () -> Void = {}
    ) {
        let call = BatchCall(waiters: waiters)
        scheduleTimeOut(of: call, at: firstDeadline, redisKey: redisKey)
        send(waiters.count, commandTimeout(firstDeadline: firstDeadline)) { [loop] result in
            guard !call.finished else { return }
            if let timer = call.timer { loop.cancel(timer) }
            answered()
            call.finish(result)
        }
    }

    /// How long a call's command may wait: the budget, or less for waiters held since an earlier turn.
    private func commandTimeout(firstDeadline: UInt64) -> Duration? {
        guard let budget else { return nil }
        let now = loop.tickTime
        guard firstDeadline != Self.never, firstDeadline < now &+ budget.nanoseconds else { return budget.duration }
        return .nanoseconds(Int64(firstDeadline > now ? firstDeadline - now : 0))
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
        private(set) var finished = false
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
