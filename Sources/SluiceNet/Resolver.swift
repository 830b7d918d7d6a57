import Dispatch

#if canImport(Glibc)
    import Glibc
#endif

/// Turns host names into addresses with `getaddrinfo`, on a background queue so that a slow
/// DNS server never stalls an event loop. Every call asks again: nothing is cached, because a
/// failover changes what a name points to.
///
/// ```swift
/// let addresses = try Resolver.resolve(HostAndPort(host: "localhost", port: 6379))
/// ```
public enum Resolver {
    private static let queue = DispatchQueue(label: "sluice.resolver", attributes: .concurrent)

    /// Resolves `target` to TCP addresses, in the order `getaddrinfo` gives them. Blocks.
    /// Numeric addresses are returned without a lookup.
    public static func resolve(_ target: HostAndPort) throws(ResolveError) -> [SocketAddress] {
        if let literal = try? SocketAddress(ip: target.host, port: target.port) { return [literal] }
        var hints = addrinfo()
        hints.ai_socktype = Int32(SOCK_STREAM.rawValue)
        hints.ai_family = AF_UNSPEC
        var list: UnsafeMutablePointer<addrinfo>?
        let status = getaddrinfo(target.host, String(target.port), &hints, &list)
        guard status == 0 else {
            throw ResolveError(target: target, reason: String(cString: gai_strerror(status)))
        }
        defer { freeaddrinfo(list) }
        var addresses: [SocketAddress] = []
        var cursor = list
        while let entry = cursor {
            if let raw = entry.pointee.ai_addr, let address = SocketAddress(storage: UnsafeRawPointer(raw)),
                !addresses.contains(address)
            {
                addresses.append(address)
            }
            cursor = entry.pointee.ai_next
        }
        guard !addresses.isEmpty else { throw ResolveError(target: target, reason: "no IPv4 or IPv6 address") }
        return addresses
    }

    /// Resolves `target` off the loop and calls `completion` on `loop` with the outcome.
    public static func resolve(
        _ target: HostAndPort, on loop: EventLoop,
        completion: @escaping @Sendable (Result<[SocketAddress], ResolveError>) -> Void
    ) {
        queue.async {
            let result = Result { () throws(ResolveError) in try resolve(target) }
            loop.execute { completion(result) }
        }
    }
}

/// A host name that could not be resolved.
public struct ResolveError: Error, Sendable, Hashable, CustomStringConvertible {
    /// The name and port asked for.
    public var target: HostAndPort
    /// The resolver's explanation.
    public var reason: String

    /// A one-line message naming the host.
    public var description: String { "cannot resolve \(target): \(reason)" }
}
