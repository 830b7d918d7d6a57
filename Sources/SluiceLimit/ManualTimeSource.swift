import Synchronization

/// A clock that moves only when told to; for tests. Safe to share between threads.
///
/// ```swift
/// let time = ManualTimeSource(milliseconds: 1_000)
/// time.advance(by: .milliseconds(500))
/// time.nowMilliseconds()  // 1_500
/// ```
public final class ManualTimeSource: TimeSource {
    private let milliseconds: Atomic<Int64>

    /// Creates a clock reading `milliseconds` since the epoch.
    public init(milliseconds: Int64) {
        self.milliseconds = Atomic(milliseconds)
    }

    /// The time last set, in milliseconds since the epoch.
    public func nowMilliseconds() -> Int64 {
        milliseconds.load(ordering: .acquiring)
    }

    /// Moves the clock by `duration` (backwards if negative); any part below a millisecond is dropped.
    public func advance(by duration: Duration) {
        milliseconds.wrappingAdd(duration.truncatedMilliseconds, ordering: .acquiringAndReleasing)
    }

    /// Sets the clock to `milliseconds` since the epoch.
    public func set(milliseconds: Int64) {
        self.milliseconds.store(milliseconds, ordering: .releasing)
    }
}
