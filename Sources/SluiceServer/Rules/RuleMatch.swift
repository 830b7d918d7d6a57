/// Which requests a rule applies to: methods, host, and a path prefix. Empty parts match everything.
///
/// ```swift
/// let match = RuleMatch(methods: ["POST"], host: "api.example.com", pathPrefix: "/login")
/// match.matches(method: "POST", host: "API.example.com:443", path: "/login/form")  // true
/// ```
public struct RuleMatch: Sendable, Hashable {
    /// Upper-case methods; empty means any.
    public var methods: Set<String>
    /// A host name compared without case and without port; nil means any.
    public var host: String?
    /// The path must start with this; `/` means any.
    public var pathPrefix: String

    /// True for the default match, which covers every request whose path starts with `/`: the
    /// server then checks the path's first byte, and reads nothing else of the rule.
    var coversEveryPath: Bool { methods.isEmpty && host == nil && pathPrefix == "/" }

    /// A match on the given parts.
    public init(methods: Set<String> = [], host: String? = nil, pathPrefix: String = "/") {
        self.methods = Set(methods.map { $0.uppercased() })
        self.host = host?.lowercased()
        self.pathPrefix = pathPrefix
    }

    /// True when a request with these parts is covered.
    public func matches(method: String, host requestHost: String?, path: String) -> Bool {
        if !methods.isEmpty && !methods.contains(method) { return false }
        if let host {
            guard let requestHost, Self.hostName(requestHost) == host else { return false }
        }
        return path.hasPrefix(pathPrefix)
    }

    /// `Example.com:8080` → `example.com`; `[::1]:80` → `::1`.
    static func hostName(_ header: String) -> String {
        var text = Substring(header.lowercased())
        if text.hasPrefix("["), let close = text.firstIndex(of: "]") {
            return String(text[text.index(after: text.startIndex)..<close])
        }
        if let colon = text.lastIndex(of: ":") { text = text[..<colon] }
        return String(text)
    }
}
