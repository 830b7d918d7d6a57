import Dispatch
import SluiceNet
import Synchronization

/// An HTTP/1.1 server: one listening socket per event loop (`SO_REUSEPORT`, so the kernel
/// spreads connections), each loop owning the connections it accepted.
///
/// ```swift
/// let group = try EventLoopGroup()
/// let server = HTTPServer(settings: HTTPServerSettings(), group: group, handler: Hello())
/// let address = try server.start(on: try SocketAddress(ip: "127.0.0.1", port: 8080))
/// // …
/// server.shutdown()
/// ```
public final class HTTPServer: Sendable {
    /// The limits and timeouts in force.
    public let settings: HTTPServerSettings
    private let group: EventLoopGroup
    private let handler: any HTTPRequestHandler
    private let acceptors: [HTTPAcceptor]
    private let openConnections = Atomic<Int>(0)

    /// A server on `group`'s loops answering with `handler`. Nothing listens until ``start(on:)``.
    public init(settings: HTTPServerSettings, group: EventLoopGroup, handler: any HTTPRequestHandler) {
        self.settings = settings
        self.group = group
        self.handler = handler
        self.acceptors = group.loops.map { HTTPAcceptor(loop: $0) }
    }

    /// Connections open now, over every loop.
    public var connectionCount: Int { openConnections.load(ordering: .relaxed) }

    /// Listens on `address` on every loop; returns the bound address (with the real port when 0 was asked).
    @discardableResult
    public func start(on address: SocketAddress) throws(IOError) -> SocketAddress {
        var bound = address
        var sockets: [Socket] = []
        do {
            for _ in acceptors {
                let socket = try Socket.listen(on: bound, reusePort: acceptors.count > 1)
                if bound.port == 0 { bound = try socket.localAddress() }
                sockets.append(socket)
            }
        } catch {
            for socket in sockets { socket.close() }
            throw error
        }
        for (acceptor, socket) in zip(acceptors, sockets) {
            acceptor.loop.execute { [self] in
                acceptor.start(listener: socket, server: self)
            }
        }
        return bound
    }

    /// Stops accepting, lets requests in flight finish (up to ``HTTPServerSettings/drainTimeout``),
    /// then closes every connection. Blocks until done; call from outside the loops.
    public func shutdown() {
        let done = DispatchGroup()
        for acceptor in acceptors {
            done.enter()
            acceptor.loop.execute { [self] in
                acceptor.drain(deadline: acceptor.loop.tickTime &+ settings.drainTimeout.nanoseconds) { done.leave() }
            }
        }
        done.wait()
    }

    // MARK: - Used by the acceptors

    /// Counts a new connection in; false when the server is full.
    func admit() -> Bool {
        if openConnections.add(1, ordering: .relaxed).newValue <= settings.maxConnections { return true }
        openConnections.subtract(1, ordering: .relaxed)
        return false
    }

    func released() {
        openConnections.subtract(1, ordering: .relaxed)
    }

    func makeConnection(
        socket: Socket, peer: SocketAddress?, loop: EventLoop, inputBuffers: InputBufferPool,
        onClose: @escaping (HTTPServerConnection) -> Void
    )
        -> HTTPServerConnection
    {
        HTTPServerConnection(
            socket: socket, peer: peer, loop: loop, settings: settings, handler: handler, inputBuffers: inputBuffers,
            onClose: onClose)
    }
}
