import SluiceRedis

/// A check the store could not decide: Redis unreachable, too slow, or answering nonsense.
///
/// The caller's store-failure policy (allow, deny, or decide locally) takes it from here.
/// ``isAmbiguous`` tells whether the check may have been counted even though no answer came.
public struct RateLimitError: Error, Sendable, Hashable, CustomStringConvertible {
    /// What went wrong, with the key and the store.
    public var message: String
    /// The Redis failure behind it, when there is one.
    public var redisError: RedisError?
    /// True when the store's time budget ran out before its answer (which may still come, and count).
    public var timedOut: Bool

    /// Creates an error.
    public init(message: String, redisError: RedisError? = nil, timedOut: Bool = false) {
        self.message = message
        self.redisError = redisError
        self.timedOut = timedOut
    }

    /// True when the check may have been counted although no decision arrived.
    public var isAmbiguous: Bool { timedOut || (redisError?.isAmbiguous ?? false) }

    /// One line: what failed and why.
    public var description: String { message }
}
