extension Duration {
    /// Attoseconds in one millisecond.
    static let attosecondsPerMillisecond: Int64 = 1_000_000_000_000_000

    /// The duration in whole milliseconds, rounded toward zero.
    ///
    /// Only meaningful for durations below about 292 million years, where the result fits in `Int64`.
    var truncatedMilliseconds: Int64 {
        let (seconds, attoseconds) = components
        return seconds * 1000 + attoseconds / Self.attosecondsPerMillisecond
    }

    /// The duration in whole milliseconds, rounded toward positive infinity, so that a wait is never shortened.
    ///
    /// Only meaningful where ``truncatedMilliseconds`` is.
    var roundedUpMilliseconds: Int64 {
        let remainder = components.attoseconds % Self.attosecondsPerMillisecond
        return remainder > 0 ? truncatedMilliseconds + 1 : truncatedMilliseconds
    }
}
