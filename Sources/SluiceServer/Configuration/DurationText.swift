/// Durations as people write them in flags and config files: `500ms`, `1s`, `1m`, `1h`, `1d`.
///
/// ```swift
/// let window = try DurationText.parse("500ms")  // .milliseconds(500)
/// ```
public enum DurationText {
    /// Parses a whole number followed by `ms`, `s`, `m`, `h` or `d`.
    public static func parse(_ text: String) throws(ConfigurationError) -> Duration {
        let digits = text.prefix { $0.isASCII && $0.isNumber }
        let unit = text.dropFirst(digits.count)
        guard let amount = Int64(digits), amount >= 0 else {
            throw ConfigurationError(
                field: "duration", message: "\"\(text)\" is not a duration such as 500ms, 1s, 1m or 1h")
        }
        let milliseconds: Int64
        switch unit {
        case "ms": milliseconds = 1
        case "s": milliseconds = 1_000
        case "m": milliseconds = 60_000
        case "h": milliseconds = 3_600_000
        case "d": milliseconds = 86_400_000
        default:
            throw ConfigurationError(
                field: "duration", message: "\"\(text)\" needs a unit: ms, s, m, h or d (e.g. 500ms, 1s, 1m)")
        }
        let (total, overflow) = amount.multipliedReportingOverflow(by: milliseconds)
        guard !overflow else { throw ConfigurationError(field: "duration", message: "\"\(text)\" is too long") }
        return .milliseconds(total)
    }
}
