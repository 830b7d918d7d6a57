import SluiceNet

#if canImport(Glibc)
    import Glibc
#endif

/// One loop's share of an ``HTTPServer``: its listening socket, the connections it accepted,
/// and a once-a-second sweep that enforces their timeouts. Owned by its loop.
final class HTTPAcceptor: EventHandler, @unchecked Sendable {
    let loop: EventLoop
    private var listener: Socket?
    private var server: HTTPServer?  // set by start, cleared when drained (breaks the cycle)
    private var connections: [ObjectIdentifier: HTTPServerConnection] = [:]
    private var sweeper: TimerID?
    private var draining: (deadline: UInt64, done: () -> Void)?
    private var inputBuffers: InputBufferPool?

    init(loop: EventLoop) {
        self.loop = loop
    }

    func start(listener: Socket, server: HTTPServer) {
        self.listener = listener
        self.server = server
        inputBuffers = InputBufferPool(bufferSize: server.settings.readBufferSize)
        do {
            try loop.register(listener.fd, interest: .read, handler: self)
        } catch {
            fatalError("\(loop.name): cannot watch the listening socket: \(error)")
        }
        scheduleSweep()
    }

    func handleEvents(_ events: UInt32) {
        guard let listener, let server else { return }
        // Accept a bounded batch, so one loop's backlog cannot starve its connections.
        for _ in 0..<64 {
            let accepted: IOResult<(socket: Socket, peer: SocketAddress?)>
            do {
                accepted = try listener.accept()
            } catch {
                // Out of descriptors or memory: the pending connection stays in the backlog and the
                // listener stays readable, so stop watching it for a moment instead of spinning.
                if [EMFILE, ENFILE, ENOBUFS, ENOMEM].contains(error.errno) { pauseAccepting(listener) }
                return
            }
            guard case .processed(let (socket, peer)) = accepted else { return }
            guard server.admit() else {
                socket.close()
                continue
            }
            let connection = server.makeConnection(socket: socket, peer: peer, loop: loop, inputBuffers: inputBuffers!)
            {
                [unowned self] closed in
                connections[ObjectIdentifier(closed)] = nil
                server.released()
                if draining != nil { finishDrainIfDone() }
            }
            do {
                try connection.start()
                connections[ObjectIdentifier(connection)] = connection
            } catch {
                socket.close()
                server.released()
            }
        }
    }

    private func pauseAccepting(_ listener: Socket) {
        loop.unregister(listener.fd)
        loop.schedule(after: .milliseconds(100)) { [self] in
            guard let current = self.listener, current == listener else { return }
            try? loop.register(listener.fd, interest: .read, handler: self)
        }
    }

    func drain(deadline: UInt64, done: @escaping () -> Void) {
        if let listener {
            loop.unregister(listener.fd)
            listener.close()
            self.listener = nil
        }
        draining = (deadline, done)
        for connection in Array(connections.values) { connection.drain() }
        finishDrainIfDone()
    }

    private func finishDrainIfDone() {
        guard let draining else { return }
        if connections.isEmpty || loop.tickTime >= draining.deadline {
            self.draining = nil  // first: closing connections below calls back here
            for connection in Array(connections.values) { connection.close() }
            if let sweeper { loop.cancel(sweeper) }
            server = nil
            draining.done()
        }
    }

    private func scheduleSweep() {
        sweeper = loop.schedule(after: .milliseconds(250)) { [self] in
            let now = loop.tickTime
            for connection in Array(connections.values) { connection.checkDeadline(now: now) }
            if draining != nil { finishDrainIfDone() }
            if draining != nil || listener != nil { scheduleSweep() }
        }
    }
}
