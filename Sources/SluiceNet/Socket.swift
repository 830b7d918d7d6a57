import CSluiceLinux

#if canImport(Glibc)
    import Glibc
#endif

/// A non-blocking TCP socket: a file descriptor and the operations Sluice performs on it.
///
/// A `Socket` is a plain value; exactly one owner calls ``close()``. All calls are
/// non-blocking: reads, writes, accepts and connects report ``IOResult/wouldBlock``
/// instead of waiting, and the owner waits for readiness on an ``EventLoop``.
///
/// ```swift
/// let listener = try Socket.listen(on: try SocketAddress(ip: "127.0.0.1", port: 0))
/// print(try listener.localAddress())  // 127.0.0.1:<a free port>
/// listener.close()
/// ```
public struct Socket: Sendable, Hashable {
    /// The file descriptor.
    public let fd: Int32

    /// Wraps a descriptor that is already an open, non-blocking socket.
    public init(fd: Int32) { self.fd = fd }

    /// Opens a listening socket with `SO_REUSEADDR` (and `SO_REUSEPORT` when asked, so that
    /// several event loops can each accept on the same port).
    public static func listen(on address: SocketAddress, backlog: Int32 = 1024, reusePort: Bool = false) throws(IOError)
        -> Socket
    {
        let socket = Socket(fd: try Syscall.socket(domain: address.family, type: Int32(SOCK_STREAM.rawValue)))
        do {
            try Syscall.setOption(socket.fd, level: SOL_SOCKET, name: SO_REUSEADDR, value: Int32(1), "SO_REUSEADDR")
            if reusePort {
                try Syscall.setOption(socket.fd, level: SOL_SOCKET, name: SO_REUSEPORT, value: Int32(1), "SO_REUSEPORT")
            }
            try address.withSockAddr { (pointer, length) throws(IOError) in
                _ = try Syscall.retrying("bind") { bind(socket.fd, pointer, length) }
            }
            _ = try Syscall.retrying("listen") { Glibc.listen(socket.fd, backlog) }
        } catch {
            socket.close()
            throw IOError(errno: error.errno, function: error.function, context: address.description)
        }
        return socket
    }

    /// Starts a non-blocking connect. Returns the socket and whether it is already connected;
    /// when not, wait for it to be writable and call ``finishConnect()``.
    public static func connect(to address: SocketAddress) throws(IOError) -> (socket: Socket, connected: Bool) {
        let socket = Socket(fd: try Syscall.socket(domain: address.family, type: Int32(SOCK_STREAM.rawValue)))
        while true {
            let result = address.withSockAddr { (pointer, length) in Glibc.connect(socket.fd, pointer, length) }
            if result == 0 { return (socket, true) }
            let code = errno
            if code == EINTR { continue }
            if code == EINPROGRESS { return (socket, false) }
            socket.close()
            throw IOError(errno: code, function: "connect", context: address.description)
        }
    }

    /// Reports the outcome of a connect that was in progress (reads `SO_ERROR`).
    public func finishConnect() throws(IOError) {
        let code = try Syscall.getIntOption(fd, level: SOL_SOCKET, name: SO_ERROR, "SO_ERROR")
        if code != 0 { throw IOError(errno: code, function: "connect") }
    }

    /// Accepts one pending connection, already non-blocking, with its peer address.
    public func accept() throws(IOError) -> IOResult<(socket: Socket, peer: SocketAddress?)> {
        var storage = sockaddr_storage()
        var length = socklen_t(MemoryLayout<sockaddr_storage>.size)
        let result = try withUnsafeMutablePointer(to: &storage) { (pointer) throws(IOError) -> IOResult<Int32> in
            try pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { (address) throws(IOError) in
                try Syscall.nonBlocking("accept4") {
                    csluice_accept4(fd, address, &length, Int32(SOCK_NONBLOCK.rawValue | SOCK_CLOEXEC.rawValue))
                }
            }
        }
        switch result {
        case .wouldBlock: return .wouldBlock
        case .processed(let accepted):
            let peer = withUnsafeBytes(of: &storage) { SocketAddress(storage: $0.baseAddress!) }
            return .processed((Socket(fd: accepted), peer))
        }
    }

    /// Reads what is available into `buffer`; `.processed(0)` means the peer closed its side.
    public func read(into buffer: UnsafeMutableRawBufferPointer) throws(IOError) -> IOResult<Int> {
        try Syscall.read(fd, into: buffer)
    }

    /// Writes as much of `buffer` as the kernel takes now.
    public func write(_ buffer: UnsafeRawBufferPointer) throws(IOError) -> IOResult<Int> {
        try Syscall.write(fd, from: buffer)
    }

    /// Disables Nagle's algorithm so small replies leave at once.
    public func setNoDelay() throws(IOError) {
        try Syscall.setOption(fd, level: Int32(IPPROTO_TCP), name: TCP_NODELAY, value: Int32(1), "TCP_NODELAY")
    }

    /// Turns on TCP keepalive probes: first after `idleSeconds`, then every `intervalSeconds`,
    /// giving up after `count` unanswered probes.
    public func setKeepAlive(idleSeconds: Int32, intervalSeconds: Int32, count: Int32) throws(IOError) {
        try Syscall.setOption(fd, level: SOL_SOCKET, name: SO_KEEPALIVE, value: Int32(1), "SO_KEEPALIVE")
        let tcp = Int32(IPPROTO_TCP)
        try Syscall.setOption(fd, level: tcp, name: TCP_KEEPIDLE, value: idleSeconds, "TCP_KEEPIDLE")
        try Syscall.setOption(fd, level: tcp, name: TCP_KEEPINTVL, value: intervalSeconds, "TCP_KEEPINTVL")
        try Syscall.setOption(fd, level: tcp, name: TCP_KEEPCNT, value: count, "TCP_KEEPCNT")
    }

    /// Sets `TCP_USER_TIMEOUT`: data left unacknowledged this long kills the connection, so a
    /// peer that vanished is noticed in seconds rather than the kernel's ~15 minutes.
    public func setUserTimeout(milliseconds: UInt32) throws(IOError) {
        try Syscall.setOption(
            fd, level: Int32(IPPROTO_TCP), name: TCP_USER_TIMEOUT, value: milliseconds, "TCP_USER_TIMEOUT")
    }

    /// The address this socket is bound to.
    public func localAddress() throws(IOError) -> SocketAddress {
        try address(function: "getsockname") { getsockname(fd, $0, $1) }
    }

    /// The address of the peer.
    public func peerAddress() throws(IOError) -> SocketAddress {
        try address(function: "getpeername") { getpeername(fd, $0, $1) }
    }

    private func address(
        function: String, _ call: (UnsafeMutablePointer<sockaddr>, UnsafeMutablePointer<socklen_t>) -> Int32
    ) throws(IOError) -> SocketAddress {
        var storage = sockaddr_storage()
        var length = socklen_t(MemoryLayout<sockaddr_storage>.size)
        _ = try withUnsafeMutablePointer(to: &storage) { (pointer) throws(IOError) in
            try pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { (address) throws(IOError) in
                try Syscall.retrying(function) { call(address, &length) }
            }
        }
        guard let address = withUnsafeBytes(of: &storage, { SocketAddress(storage: $0.baseAddress!) }) else {
            throw IOError(errno: EAFNOSUPPORT, function: function)
        }
        return address
    }

    /// Closes the descriptor. Call once.
    public func close() {
        Syscall.close(fd)
    }
}
