/// How a limiter counts requests against a ``RateLimitPolicy``.
///
/// The raw values are the names used in configuration files and on the command line:
///
/// ```swift
/// let algorithm = RateLimitAlgorithm(rawValue: "token-bucket")  // .tokenBucket
/// ```
public enum RateLimitAlgorithm: String, Sendable, Hashable, CaseIterable {
    /// At most `limit` units per window aligned to multiples of the window since the epoch.
    ///
    /// Cheapest to store (one counter), but a client can spend two full quotas around a window edge.
    case fixedWindow = "fixed-window"
    /// At most `limit` units in any interval of length `window`; stores one run (a time and a unit
    /// count) per millisecond in which units were allowed.
    case slidingWindow = "sliding-window"
    /// A bucket of `burst` tokens refilled continuously at `limit` tokens per `window`.
    case tokenBucket = "token-bucket"
}
