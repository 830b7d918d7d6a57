import SluiceNet

/// A TCP listener that completes connections (the kernel does, from its backlog) but never
/// reads or answers: a stand-in for a hung server, to test that deadlines fire.
public final class SilentServer: Sendable {
    private let socket: Socket
    /// The loopback port it listens on.
    public let port: Int

    /// Listens on a free loopback port.
    public init() throws {
        socket = try Socket.listen(on: try SocketAddress(ip: "127.0.0.1", port: 0))
        port = try socket.localAddress().port
    }

    deinit { socket.close() }
}
