import Foundation

/// One-line JSON logs on standard error: `{"ts":"…","event":"…",key: value…}`.
///
/// ```swift
/// ServerLog.event("listening", ["address": "0.0.0.0:8080"])
/// ```
public enum ServerLog {
    /// Writes one event line with its fields (values are written as JSON strings).
    public static func event(_ name: String, _ fields: [String: String] = [:]) {
        var line = #"{"ts":"\#(timestamp())","event":\#(quoted(name))"#
        for key in fields.keys.sorted() {
            line += ",\(quoted(key)):\(quoted(fields[key]!))"
        }
        line += "}\n"
        FileHandle.standardError.write(Data(line.utf8))
    }

    private static func timestamp() -> String {
        Date().formatted(.iso8601.year().month().day().time(includingFractionalSeconds: true))
    }

    /// `text` as a JSON string literal.
    static func quoted(_ text: String) -> String {
        var result = "\""
        for scalar in text.unicodeScalars {
            switch scalar {
            case "\"": result += "\\\""
            case "\\": result += "\\\\"
            case "\n": result += "\\n"
            case "\r": result += "\\r"
            case "\t": result += "\\t"
            case _ where scalar.value < 0x20: result += String(format: "\\u%04x", scalar.value)
            default: result.unicodeScalars.append(scalar)
            }
        }
        return result + "\""
    }
}
