import SluiceNet

/// Coalesces one loop turn's checks of the same key — same policy, cost and time — into one
/// Redis call for all of them: a hot key (a per-route rule, a busy client) then costs Redis one
/// command per loop turn instead of one per request.
///
/// Exact: the call decides the batch atomically as that many checks made one after another, in
/// the order they were made (see `RedisStore` for each algorithm's call). Loop-confined (hence
/// `@unchecked Sendable`): one batcher per event loop, touched only on its thread.
final class CheckBatcher: @unchecked Sendable {
    typealias Completion = (Result<Decision, RateLimitError>) -> Void
    /// Sends one batch of `count` checks; answers with their decisions in order, or one failure.
    typealias Send = (_ count: Int, _ answer: @escaping (Result<[Decision], RateLimitError>) -> Void) -> Void

    private struct Batch {
        let send: Send
        var waiters: [Completion] = []
    }

    private let loop: EventLoop
    private var pending: [String: Batch] = [:]

    init(loop: EventLoop) {
        self.loop = loop
    }

    /// Adds a check to the batch named `key` (everything that shapes its call: the Redis key,
    /// policy, cost, time); the batch goes out with `send` at the end of this loop turn.
    func add(batch key: String, send: @autoclosure () -> Send, completion: @escaping Completion) {
        if pending.isEmpty { loop.afterTick { [self] in flush() } }
        pending[key, default: Batch(send: send())].waiters.append(completion)
    }

    private func flush() {
        let batches = pending
        pending = [:]
        for batch in batches.values {
            batch.send(batch.waiters.count) { result in
                switch result {
                case .failure(let error):
                    for waiter in batch.waiters { waiter(.failure(error)) }
                case .success(let decisions):
                    for (waiter, decision) in zip(batch.waiters, decisions) { waiter(.success(decision)) }
                }
            }
        }
    }
}
