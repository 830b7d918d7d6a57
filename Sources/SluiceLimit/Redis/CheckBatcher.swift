import SluiceNet

/// Coalesces one loop turn's checks of the same key — same policy, cost and time — into one
/// Redis call for all of them: a hot key (a per-route rule, a busy client) then costs Redis one
/// command per loop turn instead of one per request.
///
/// Exact: the call decides the batch atomically as that many checks made one after another, in
/// the order they were made (see `RedisStore` for each algorithm's call). A check made with a
/// budget fails with ``RateLimitError/timedOut`` when the call has not answered within it; one
/// timer serves the whole batch, since its checks all started in the same loop turn.
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
    }

    private struct Batch {
        let send: Send
        /// When the budgeted checks give up, and their budget, if any check has one.
        var budget: (deadline: UInt64, duration: Duration)?
        var waiters: [Waiter] = []
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
        pending[key, default: Batch(send: send())].waiters.append(
            Waiter(completion: completion, budgeted: budget != nil))
        // Every check of a batch starts in this loop turn: the first budget sets the batch's deadline.
        if let budget, pending[key]?.budget == nil {
            pending[key]?.budget = (loop.tickTime &+ budget.nanoseconds, budget)
        }
    }

    private func flush() {
        let batches = pending
        pending = [:]
        for (key, batch) in batches {
            let call = BatchCall(waiters: batch.waiters)
            if let budget = batch.budget {
                call.timer = loop.schedule(atNanoseconds: budget.deadline) {
                    call.timeOut(
                        RateLimitError(
                            message: "no answer from Redis within \(budget.duration) for \(key.redisKey)",
                            timedOut: true))
                }
            }
            batch.send(batch.waiters.count) { [loop] result in
                if let timer = call.timer { loop.cancel(timer) }
                call.finish(result)
            }
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
