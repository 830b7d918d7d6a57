/// A configuration (flag, environment variable or config file) that cannot be used: which
/// file, which field, and what is wrong with it.
public struct ConfigurationError: Error, Sendable, Hashable, CustomStringConvertible {
    /// The config file, when the problem is in one.
    public var file: String?
    /// The field or flag, e.g. `rules[2].limit` or `--window`.
    public var field: String
    /// What is wrong and what would be right.
    public var message: String

    /// Creates an error.
    public init(file: String? = nil, field: String, message: String) {
        self.file = file
        self.field = field
        self.message = message
    }

    /// The same error, placed in `file` under `parent` (`rules[2]` + `limit` → `rules[2].limit`).
    func located(file: String?, under parent: String?) -> ConfigurationError {
        var copy = self
        copy.file = copy.file ?? file
        if let parent, !parent.isEmpty { copy.field = field.isEmpty ? parent : "\(parent).\(field)" }
        return copy
    }

    /// `file: field: message`.
    public var description: String {
        (file.map { "\($0): " } ?? "") + (field.isEmpty ? "" : "\(field): ") + message
    }
}
