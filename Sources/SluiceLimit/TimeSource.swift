/// Where "now" comes from: wall-clock milliseconds since the Unix epoch.
///
/// Limiters take time as a parameter and never read a clock themselves; stores ask a `TimeSource`, so tests can
/// substitute a ``ManualTimeSource``.
public protocol TimeSource: Sendable {
    /// The current time in whole milliseconds since 1970-01-01T00:00:00Z.
    func nowMilliseconds() -> Int64
}
