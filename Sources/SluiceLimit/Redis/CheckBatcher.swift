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

    /// Everything that shapes a batch's call; checks with equal keys share one.
    struct Key: Hashable {
        /// The Redis key the call updates.
        var redisKey: String
        var cost: Int
        var limit: Int
        var windowMilliseconds: Int64
        var burst: Int
        /// The client's clock when the call carries it (or decides the fixed window's index), else 0.
        var now: Int64

        /// The Redis key alone: the other parts are nearly always the same for one key, and
        /// hashing them too cost more than the rest of adding a check.
        func hash(into hasher: inout Hasher) {
            hasher.combine(redisKey)
        }
    }

    /// When budgeted checks give up, and their budget.
    private typealias Budget = (deadline: UInt64, duration: Duration)

    private struct Batch {
        let send: Send
        /// Set by the first budgeted check: every check of a batch starts in the same loop turn.
        var budget: Budget?
        var waiters: [Waiter] = []

        mutating func add(_ waiter: Waiter, budget: Budget?) {
            waiters.append(waiter)
            if self.budget == nil { self.budget = budget }
        }
    }

    private struct Waiter {
        let completion: Completion
        let budgeted: Bool
    }

    private let loop: EventLoop
    private var pending: [Key: Batch] = [:]

    init(loop: EventLoop) {
        self.loop = loop
    }

    /// Adds a check to the batch of `key`; the batch goes out with `send` at the end of this loop
    /// turn. With a `budget`, the check fails if the call has not answered within it.
    func add(
        batch key: Key, budget: Duration?, send: @autoclosure () -> Send, completion: @escaping Completion
    ) {
        if pending.isEmpty { loop.afterTick { [self] in flush() } }
        pending[key, default: Batch(send: send())].add(
            Waiter(completion: completion, budgeted: budget != nil), budget: deadline(of: budget))
    }

    /// Sends a call that decides one check, now rather than with a batch: `send` is called with a
    /// count of 1 and answers with one decision. With a `budget`, the check fails if the call has
    /// not answered within it.
    func sendAlone(redisKey: String, budget: Duration?, send: Send, completion: @escaping Completion) {
        start(
            send, waiters: [Waiter(completion: completion, budgeted: budget != nil)], budget: deadline(of: budget),
            redisKey: redisKey)
    }

    private func deadline(of budget: Duration?) -> Budget? {
        budget.map { (loop.tickTime &+ $0.nanoseconds, $0) }
    }

    private func flush() {
        let batches = pending
        pending = [:]
        for (key, batch) in batches {
            start(batch.send, waiters: batch.waiters, budget: batch.budget, redisKey: key.redisKey)
        }
    }

    /// Sends one call for `waiters`, racing it against `budget` when there is one.
    private func start(_ send: Send, waiters: [Waiter], budget: Budget?, redisKey: String) {
        let call = BatchCall(waiters: waiters)
        if let budget {
            call.timer = loop.schedule(atNanoseconds: budget.deadline) {
                call.timeOut(
                    RateLimitError(
                        message: "no answer from Redis within \(budget.duration) for \(redisKey)", timedOut: true))
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
        /// Nil once answered.
        private var waiters: [Waiter?]
        var timer: TimerID?

        init(waiters: [Waiter]) {
            self.waiters = waiters
        }

        /// The budget passed: budgeted waiters fail now; the others wait on for the reply.
        func timeOut(_ error: RateLimitError) {
            timer = nil
            for index in waiters.indices {
                guard let waiter = waiters[index], waiter.budgeted else { continue }
                waiters[index] = nil
                waiter.completion(.failure(error))
            }
        }

        /// The reply: every waiter not yet answered gets its decision, or the call's failure.
        func finish(_ result: Result<[Decision], RateLimitError>) {
            for index in waiters.indices {
                guard let waiter = waiters[index] else { continue }
                waiters[index] = nil
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
