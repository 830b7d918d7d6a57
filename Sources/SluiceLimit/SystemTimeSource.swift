#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// The system's wall clock (`CLOCK_REALTIME`).
///
/// Wall time, not monotonic time, so that instances sharing a store agree on window boundaries. It jumps when the
/// clock is stepped: keep it disciplined (NTP slewing) on machines that enforce limits.
public struct SystemTimeSource: TimeSource {
    /// Creates a time source reading the system clock.
    public init() {}

    /// The current `CLOCK_REALTIME` reading, truncated to whole milliseconds.
    public func nowMilliseconds() -> Int64 {
        var spec = timespec()
        clock_gettime(CLOCK_REALTIME, &spec)
        return Int64(spec.tv_sec) * 1000 + Int64(spec.tv_nsec) / 1_000_000
    }
}
