import SluiceNet

/// A cluster's "not here" answer: `MOVED slot host:port` (the slot lives there now) or
/// `ASK slot host:port` (this one command should go there, while the slot migrates).
///
/// ```swift
/// let redirect = ClusterRedirect(errorMessage: "MOVED 3999 127.0.0.1:6381", from: node)
/// // .moved(slot: 3999, to: 127.0.0.1:6381)
/// ```
public enum ClusterRedirect: Sendable, Equatable {
    /// The slot has a new owner: update the map and retry there.
    case moved(slot: Int, to: HostAndPort)
    /// Send this command once to the target, preceded by `ASKING`; the map stays.
    case ask(slot: Int, to: HostAndPort)

    /// Reads an error reply; nil when it is not a redirect. An empty host (`:6381`) means the
    /// host of the node that answered.
    public init?(errorMessage: String, from node: HostAndPort) {
        let words = errorMessage.split(separator: " ")
        guard words.count == 3, let slot = Int(words[1]), (0..<ClusterSlot.count).contains(slot) else { return nil }
        let target = String(words[2])
        let endpoint: HostAndPort
        if target.hasPrefix(":"), let port = Int(target.dropFirst()) {
            endpoint = HostAndPort(host: node.host, port: port)
        } else if let parsed = try? HostAndPort(parsing: Self.bracketed(target), defaultPort: 6379) {
            endpoint = parsed
        } else {
            return nil
        }
        switch words[0] {
        case "MOVED": self = .moved(slot: slot, to: endpoint)
        case "ASK": self = .ask(slot: slot, to: endpoint)
        default: return nil
        }
    }

    /// Redis writes IPv6 targets without brackets (`::1:7000`): the port follows the last colon.
    private static func bracketed(_ target: String) -> String {
        guard target.filter({ $0 == ":" }).count > 1, let colon = target.lastIndex(of: ":") else { return target }
        return "[\(target[..<colon])]\(target[colon...])"
    }
}
