#if canImport(Glibc)
    import Glibc
#endif

/// An IPv4 or IPv6 address with a port, ready for `bind`/`connect`.
///
/// ```swift
/// let local = try SocketAddress(ip: "127.0.0.1", port: 6379)
/// let v6 = try SocketAddress(ip: "::1", port: 8080)
/// print(local, v6)  // 127.0.0.1:6379 [::1]:8080
/// ```
public enum SocketAddress: Sendable, Hashable, CustomStringConvertible {
    case v4(sockaddr_in)
    case v6(sockaddr_in6)

    /// Parses a numeric IPv4 or IPv6 address (no name lookup; see ``Resolver`` for names).
    public init(ip: String, port: Int) throws(AddressError) {
        guard (0...65535).contains(port) else { throw AddressError(input: ip, reason: "port \(port) is out of range") }
        var v4 = sockaddr_in()
        if inet_pton(AF_INET, ip, &v4.sin_addr) == 1 {
            v4.sin_family = sa_family_t(AF_INET)
            v4.sin_port = in_port_t(UInt16(port).bigEndian)
            self = .v4(v4)
            return
        }
        var v6 = sockaddr_in6()
        if inet_pton(AF_INET6, ip, &v6.sin6_addr) == 1 {
            v6.sin6_family = sa_family_t(AF_INET6)
            v6.sin6_port = in_port_t(UInt16(port).bigEndian)
            self = .v6(v6)
            return
        }
        throw AddressError(input: ip, reason: "not a numeric IPv4 or IPv6 address")
    }

    /// An address from its raw bytes in network order: 4 for IPv4, 16 for IPv6.
    public init(bytes: [UInt8], port: Int = 0) throws(AddressError) {
        switch bytes.count {
        case 4:
            var v4 = sockaddr_in()
            v4.sin_family = sa_family_t(AF_INET)
            v4.sin_port = in_port_t(UInt16(truncatingIfNeeded: port).bigEndian)
            withUnsafeMutableBytes(of: &v4.sin_addr) { $0.copyBytes(from: bytes) }
            self = .v4(v4)
        case 16:
            var v6 = sockaddr_in6()
            v6.sin6_family = sa_family_t(AF_INET6)
            v6.sin6_port = in_port_t(UInt16(truncatingIfNeeded: port).bigEndian)
            withUnsafeMutableBytes(of: &v6.sin6_addr) { $0.copyBytes(from: bytes) }
            self = .v6(v6)
        default:
            throw AddressError(input: "\(bytes)", reason: "an address has 4 or 16 bytes, not \(bytes.count)")
        }
    }

    /// Copies an address the kernel filled in (`accept`, `getsockname`, `getaddrinfo`).
    init?(storage: UnsafeRawPointer) {
        switch Int32(storage.load(as: sockaddr.self).sa_family) {
        case AF_INET: self = .v4(storage.load(as: sockaddr_in.self))
        case AF_INET6: self = .v6(storage.load(as: sockaddr_in6.self))
        default: return nil
        }
    }

    /// The address family: `AF_INET` or `AF_INET6`.
    public var family: Int32 {
        switch self {
        case .v4: AF_INET
        case .v6: AF_INET6
        }
    }

    /// The port in host byte order.
    public var port: Int {
        switch self {
        case .v4(let address): Int(UInt16(bigEndian: address.sin_port))
        case .v6(let address): Int(UInt16(bigEndian: address.sin6_port))
        }
    }

    /// The address without the port, as text: `127.0.0.1` or `::1`.
    public var ip: String {
        switch self {
        case .v4(let address):
            // Dotted quad by hand: at most 15 bytes, a small string with no heap allocation
            // (this runs for every request of a per-IP rule).
            return withUnsafeBytes(of: address.sin_addr) { octets in
                String(unsafeUninitializedCapacity: 15) { text in
                    var length = 0
                    for index in 0..<4 {
                        let octet = octets[index]
                        if index > 0 {
                            text[length] = UInt8(ascii: ".")
                            length += 1
                        }
                        if octet >= 100 {
                            text[length] = UInt8(ascii: "0") + octet / 100
                            length += 1
                        }
                        if octet >= 10 {
                            text[length] = UInt8(ascii: "0") + octet / 10 % 10
                            length += 1
                        }
                        text[length] = UInt8(ascii: "0") + octet % 10
                        length += 1
                    }
                    return length
                }
            }
        case .v6(var address):
            var text = [CChar](repeating: 0, count: Int(INET6_ADDRSTRLEN))
            _ = inet_ntop(AF_INET6, &address.sin6_addr, &text, socklen_t(text.count))
            return String(decoding: text.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
        }
    }

    /// The raw address bytes in network order: 4 for IPv4, 16 for IPv6.
    public var addressBytes: [UInt8] {
        switch self {
        case .v4(var address): withUnsafeBytes(of: &address.sin_addr) { Array($0) }
        case .v6(var address): withUnsafeBytes(of: &address.sin6_addr) { Array($0) }
        }
    }

    /// `host:port`, with IPv6 hosts in brackets.
    public var description: String {
        switch self {
        case .v4: "\(ip):\(port)"
        case .v6: "[\(ip)]:\(port)"
        }
    }

    /// Calls `body` with the address as a `sockaddr` pointer and its length.
    func withSockAddr<R, E: Error>(_ body: (UnsafePointer<sockaddr>, socklen_t) throws(E) -> R) throws(E) -> R {
        switch self {
        case .v4(var address):
            return try withUnsafeBytes(of: &address) { (raw) throws(E) -> R in
                try body(raw.baseAddress!.assumingMemoryBound(to: sockaddr.self), socklen_t(raw.count))
            }
        case .v6(var address):
            return try withUnsafeBytes(of: &address) { (raw) throws(E) -> R in
                try body(raw.baseAddress!.assumingMemoryBound(to: sockaddr.self), socklen_t(raw.count))
            }
        }
    }

    public static func == (lhs: SocketAddress, rhs: SocketAddress) -> Bool {
        lhs.family == rhs.family && lhs.port == rhs.port && lhs.addressBytes == rhs.addressBytes
    }

    public func hash(into hasher: inout Hasher) {
        hasher.combine(family)
        hasher.combine(port)
        hasher.combine(addressBytes)
    }
}

/// An address or host:port text that could not be understood.
public struct AddressError: Error, Sendable, Hashable, CustomStringConvertible {
    /// The text as given.
    public var input: String
    /// What is wrong with it.
    public var reason: String

    /// A one-line message naming the input.
    public var description: String { "invalid address \"\(input)\": \(reason)" }
}

/// A host name or literal with a port, as written in a URL or flag: `redis.local:6379`, `[::1]:80`.
public struct HostAndPort: Sendable, Hashable, CustomStringConvertible {
    /// The host: a name, an IPv4 literal or an IPv6 literal without brackets.
    public var host: String
    /// The port.
    public var port: Int

    /// Creates a host and port as given.
    public init(host: String, port: Int) {
        self.host = host
        self.port = port
    }

    /// Parses `host`, `host:port`, `[v6]` or `[v6]:port`; `defaultPort` applies when no port is written.
    ///
    /// ```swift
    /// let target = try HostAndPort(parsing: "[::1]:6380", defaultPort: 6379)  // host "::1", port 6380
    /// ```
    public init(parsing text: String, defaultPort: Int) throws(AddressError) {
        var host = Substring(text)
        var portText: Substring?
        if host.hasPrefix("[") {
            guard let close = host.firstIndex(of: "]") else {
                throw AddressError(input: text, reason: "missing ']' after IPv6 address")
            }
            let rest = host[host.index(after: close)...]
            host = host[host.index(after: host.startIndex)..<close]
            if !rest.isEmpty {
                guard rest.hasPrefix(":") else { throw AddressError(input: text, reason: "expected ':' after ']'") }
                portText = rest.dropFirst()
            }
        } else if let colon = host.lastIndex(of: ":") {
            guard host.firstIndex(of: ":") == colon else {
                throw AddressError(input: text, reason: "an IPv6 address must be written in brackets, e.g. [::1]:6379")
            }
            portText = host[host.index(after: colon)...]
            host = host[..<colon]
        }
        guard !host.isEmpty else { throw AddressError(input: text, reason: "the host is empty") }
        var port = defaultPort
        if let portText {
            guard let parsed = Int(portText), (1...65535).contains(parsed) else {
                throw AddressError(input: text, reason: "port \"\(portText)\" is not a number from 1 to 65535")
            }
            port = parsed
        }
        self.host = String(host)
        self.port = port
    }

    /// `host:port`, with IPv6 hosts in brackets.
    public var description: String { host.contains(":") ? "[\(host)]:\(port)" : "\(host):\(port)" }
}
