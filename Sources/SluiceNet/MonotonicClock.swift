#if canImport(Glibc)
    import Glibc
#endif

/// Readings of `CLOCK_MONOTONIC`, in nanoseconds: for deadlines and timers, never for wall time.
public enum MonotonicClock {
    /// Nanoseconds since an arbitrary fixed point (boot); only differences mean anything.
    @inline(__always)
    public static func now() -> UInt64 {
        var spec = timespec()
        clock_gettime(CLOCK_MONOTONIC, &spec)
        return UInt64(spec.tv_sec) &* 1_000_000_000 &+ UInt64(spec.tv_nsec)
    }
}

extension Duration {
    /// The duration in whole nanoseconds, clamped to zero for negative durations.
    public var nanoseconds: UInt64 {
        let (seconds, attoseconds) = components
        guard seconds >= 0 else { return 0 }
        return UInt64(seconds) &* 1_000_000_000 &+ UInt64(attoseconds / 1_000_000_000)
    }
}
