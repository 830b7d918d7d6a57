/// What a rule counts requests by. Several sources combine into one identity (`ip` + an API key:
/// each key counted per address).
public enum IdentitySource: Sendable, Hashable, CustomStringConvertible {
    /// The client address (see ``ClientAddressResolver``).
    case clientIP
    /// A request header, such as an API key; requests without it share the identity `-`.
    case header(String)
    /// The request path (without the query).
    case path

    /// Parses `ip`, `path` or `header:NAME`.
    public init(parsing text: String) throws(ConfigurationError) {
        switch text {
        case "ip": self = .clientIP
        case "path": self = .path
        default:
            guard text.hasPrefix("header:"), text.count > "header:".count else {
                throw ConfigurationError(
                    field: "key",
                    message: "\"\(text)\" is not a key; use ip, path or header:NAME (e.g. header:X-API-Key)")
            }
            self = .header(String(text.dropFirst("header:".count)))
        }
    }

    /// `ip`, `path` or `header:NAME`, as written in config.
    public var description: String {
        switch self {
        case .clientIP: "ip"
        case .path: "path"
        case .header(let name): "header:\(name)"
        }
    }
}
