import SluiceNet

/// Forwards requests to one upstream over pooled keep-alive connections, a pool per event loop.
///
/// ```swift
/// let client = try UpstreamClient(upstream: HostAndPort(host: "127.0.0.1", port: 3000), loops: group.loops)
/// // on a loop:
/// let call = client.start(head: head, method: "GET", chunkedBody: false, hasBody: false, on: loop, delegate: exchange)
/// ```
public final class UpstreamClient: Sendable {
    /// Where requests go.
    public let upstream: HostAndPort
    /// The resolved address.
    public let address: SocketAddress
    /// How long the upstream may take to start answering (504 after that).
    public let responseTimeout: Duration
    private let pools: [ObjectIdentifier: UpstreamPool]

    /// A client for `upstream`, resolved once now, with a pool on each of `loops`.
    public init(upstream: HostAndPort, loops: [EventLoop], responseTimeout: Duration = .seconds(30), maxIdle: Int = 64)
        throws
    {
        self.upstream = upstream
        self.address = try Resolver.resolve(upstream)[0]
        self.responseTimeout = responseTimeout
        pools = Dictionary(
            uniqueKeysWithValues: loops.map {
                (ObjectIdentifier($0), UpstreamPool(loop: $0, maxIdle: maxIdle))
            })
    }

    /// Sends a request head (already serialized) on `loop`; stream the body into the returned call.
    /// Upgrades are not supported: an upstream that answers `101 Switching Protocols` fails the call.
    public func start(
        head: [UInt8], method: String, chunkedBody: Bool, hasBody: Bool, on loop: EventLoop,
        delegate: UpstreamResponseDelegate
    ) -> UpstreamCall {
        let call = UpstreamCall(
            requestHead: head, method: method, chunkedBody: chunkedBody, hasBody: hasBody, delegate: delegate)
        pools[ObjectIdentifier(loop)]!.dispatch(call, to: address, responseTimeout: responseTimeout, reuse: true)
        return call
    }

    /// Closes every idle connection (call on shutdown, from each loop).
    public func closeIdle(on loop: EventLoop) {
        pools[ObjectIdentifier(loop)]?.closeIdle()
    }
}

/// One loop's idle upstream connections. Loop-confined.
final class UpstreamPool: @unchecked Sendable {
    private let loop: EventLoop
    private let maxIdle: Int
    private var idle: [UpstreamConnection] = []

    init(loop: EventLoop, maxIdle: Int) {
        self.loop = loop
        self.maxIdle = maxIdle
    }

    func dispatch(_ call: UpstreamCall, to address: SocketAddress, responseTimeout: Duration, reuse: Bool) {
        if reuse, let connection = idle.popLast() {
            connection.start(call)
            return
        }
        do {
            let connection = try UpstreamConnection(
                address: address, loop: loop, responseTimeout: responseTimeout,
                onIdle: { [unowned self] connection in
                    if idle.count < maxIdle { idle.append(connection) } else { connection.close() }
                },
                onClose: { [unowned self] connection in idle.removeAll { $0 === connection } },
                retry: { [unowned self] call in
                    dispatch(call, to: address, responseTimeout: responseTimeout, reuse: false)
                    return true
                })
            connection.start(call)
        } catch {
            call.finished = true
            let failure = UpstreamError(kind: .unavailable, message: "cannot connect to \(address): \(error)")
            let delegate = call.delegate
            call.delegate = nil
            delegate?.upstreamFailed(failure, responseStarted: false)
        }
    }

    func closeIdle() {
        for connection in idle { connection.close() }
        idle = []
    }
}
