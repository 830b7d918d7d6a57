import SluiceNet

/// Free loopback ports for test servers.
public enum FreePort {
    /// Asks the kernel for a free port on 127.0.0.1 (bind to port 0, read it, release it).
    /// Another process could take it before the caller binds it; tests retry on failure.
    public static func pick() throws -> Int {
        let socket = try Socket.listen(on: try SocketAddress(ip: "127.0.0.1", port: 0))
        defer { socket.close() }
        return try socket.localAddress().port
    }
}
