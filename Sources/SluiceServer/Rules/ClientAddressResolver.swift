import SluiceNet

/// Finds the client's address: the TCP peer, or — only when the peer is a trusted proxy — the
/// address that proxy reports in `X-Forwarded-For` (or `Forwarded: for=`). Addresses are read
/// from the right, skipping trusted proxies, so a client cannot pose as someone else by sending
/// its own `X-Forwarded-For`. IPv6 clients are grouped by prefix (/64 by default): one
/// subscriber usually holds a whole /64, and counting each address apart would let it multiply
/// its quota.
///
/// ```swift
/// let resolver = ClientAddressResolver(trustedProxies: [try IPNetwork(parsing: "10.0.0.0/8")])
/// let client = resolver.clientAddress(peer: peer, forwardedFor: ["203.0.113.7, 10.0.0.2"], forwarded: [])
/// resolver.identity(of: client)  // "203.0.113.7"
/// ```
public struct ClientAddressResolver: Sendable {
    /// Networks whose forwarding headers are believed.
    public var trustedProxies: [IPNetwork]
    /// IPv6 clients are counted per network of this prefix length.
    public var ipv6PrefixLength: Int

    /// A resolver trusting `trustedProxies`, grouping IPv6 by `/ipv6PrefixLength`.
    public init(trustedProxies: [IPNetwork] = [], ipv6PrefixLength: Int = 64) {
        self.trustedProxies = trustedProxies
        self.ipv6PrefixLength = ipv6PrefixLength
    }

    /// The client's address, from the peer and the forwarding header values (each may hold a list).
    /// The headers are read only when the peer is a trusted proxy, so a request from anyone else
    /// costs no header scan.
    public func clientAddress(
        peer: SocketAddress?, forwardedFor: @autoclosure () -> [String], forwarded: @autoclosure () -> [String]
    ) -> SocketAddress? {
        guard let peer, isTrusted(peer) else { return peer }
        var chain = forwardedFor().flatMap { $0.split(separator: ",") }.compactMap { Self.address(in: $0) }
        if chain.isEmpty { chain = forwarded().flatMap(Self.forValues) }
        // Rightmost first: the nearest hop a trusted proxy vouches for.
        for address in chain.reversed() where !isTrusted(address) { return address }
        return chain.first ?? peer
    }

    /// The text a client is counted under: the IPv4 address, or the IPv6 network (`2001:db8:1:2::/64`).
    public func identity(of address: SocketAddress?) -> String {
        guard let address else { return "unknown" }
        if case .v4 = address { return address.ip }
        let bytes = IPNetwork.unmapped(address.addressBytes)
        if bytes.count == 4 { return (try? SocketAddress(bytes: bytes))?.ip ?? address.ip }
        let network = IPNetwork.masked(bytes, prefixLength: ipv6PrefixLength)
        let text = (try? SocketAddress(bytes: network))?.ip ?? address.ip
        return ipv6PrefixLength >= 128 ? text : "\(text)/\(ipv6PrefixLength)"
    }

    private func isTrusted(_ address: SocketAddress) -> Bool {
        trustedProxies.contains { $0.contains(address) }
    }

    /// One list entry of `X-Forwarded-For` or `for=`: `1.2.3.4`, `1.2.3.4:80`, `[::1]:80`, `"[::1]"`.
    static func address<S: StringProtocol>(in entry: S) -> SocketAddress? {
        var text = Substring(entry.trimmingASCIISpaces())
        if text.hasPrefix("\"") && text.hasSuffix("\"") && text.count >= 2 { text = text.dropFirst().dropLast() }
        if text.hasPrefix("[") {
            guard let close = text.firstIndex(of: "]") else { return nil }
            text = text[text.index(after: text.startIndex)..<close]
        } else if text.filter({ $0 == ":" }).count == 1, let colon = text.firstIndex(of: ":") {
            text = text[..<colon]  // IPv4 with a port
        }
        return try? SocketAddress(ip: String(text), port: 0)
    }

    /// The `for=` addresses of a `Forwarded` header value (RFC 7239), in order.
    static func forValues(_ header: String) -> [SocketAddress] {
        header.split(separator: ",").compactMap { element in
            element.split(separator: ";").lazy.compactMap { pair -> SocketAddress? in
                let parts = pair.split(separator: "=", maxSplits: 1)
                guard parts.count == 2, parts[0].trimmingASCIISpaces().lowercased() == "for" else { return nil }
                return address(in: parts[1])
            }.first
        }
    }
}

extension StringProtocol {
    /// The text without leading and trailing spaces and tabs.
    func trimmingASCIISpaces() -> SubSequence {
        let start = firstIndex { $0 != " " && $0 != "\t" } ?? endIndex
        let end = lastIndex { $0 != " " && $0 != "\t" }.map { index(after: $0) } ?? start
        return self[start..<end]
    }
}
