import SluiceNet

/// An IPv4 or IPv6 network in CIDR notation, such as `10.0.0.0/8` or `2001:db8::/32`.
///
/// ```swift
/// let network = try IPNetwork(parsing: "10.0.0.0/8")
/// network.contains(try SocketAddress(ip: "10.1.2.3", port: 0))  // true
/// ```
public struct IPNetwork: Sendable, Hashable, CustomStringConvertible {
    /// The network's address bytes (4 or 16), host bits cleared.
    public let bytes: [UInt8]
    /// The prefix length in bits.
    public let prefixLength: Int

    /// Parses `address/prefix`; a bare address means a single host.
    public init(parsing text: String) throws(ConfigurationError) {
        let parts = text.split(separator: "/", maxSplits: 1).map(String.init)
        guard let first = parts.first, let address = try? SocketAddress(ip: first, port: 0) else {
            throw ConfigurationError(field: "", message: "\"\(text)\" is not a network such as 10.0.0.0/8 or ::1/128")
        }
        let bits = address.addressBytes.count * 8
        let prefix = parts.count == 2 ? Int(parts[1]) : bits
        guard let prefix, (0...bits).contains(prefix) else {
            throw ConfigurationError(field: "", message: "\"\(text)\": the prefix must be a number from 0 to \(bits)")
        }
        self.prefixLength = prefix
        self.bytes = Self.masked(address.addressBytes, prefixLength: prefix)
    }

    /// True when `address` lies in this network (an IPv4-mapped IPv6 address counts as IPv4).
    public func contains(_ address: SocketAddress) -> Bool {
        let candidate = Self.unmapped(address.addressBytes)
        return candidate.count == bytes.count && Self.masked(candidate, prefixLength: prefixLength) == bytes
    }

    /// `address/prefix`.
    public var description: String {
        let text = (try? SocketAddress(bytes: bytes))?.ip ?? "?"
        return "\(text)/\(prefixLength)"
    }

    /// `bytes` with every bit past `prefixLength` cleared.
    static func masked(_ bytes: [UInt8], prefixLength: Int) -> [UInt8] {
        bytes.enumerated().map { index, byte in
            let kept = min(8, max(0, prefixLength - index * 8))
            return kept == 8 ? byte : byte & ~(0xFF >> kept)
        }
    }

    /// `::ffff:a.b.c.d` as the 4 bytes of `a.b.c.d`; anything else unchanged.
    static func unmapped(_ bytes: [UInt8]) -> [UInt8] {
        if bytes.count == 16 && bytes[0..<10].allSatisfy({ $0 == 0 }) && bytes[10] == 0xFF && bytes[11] == 0xFF {
            return Array(bytes[12...])
        }
        return bytes
    }
}
