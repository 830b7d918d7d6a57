import Dispatch
import Synchronization
import Testing

@testable import SluiceNet

#if canImport(Glibc)
    import Glibc
#endif

@Suite struct EventLoopTests {
    @Test func runsTasksFromOtherThreadsInOrder() async throws {
        let loop = try EventLoop.start(name: "test")
        defer { loop.shutdown() }
        let seen = Mutex<[Int]>([])
        await withCheckedContinuation { (done: CheckedContinuation<Void, Never>) in
            for index in 0..<1000 {
                loop.execute {
                    #expect(loop.inEventLoop)
                    seen.withLock { $0.append(index) }
                    if index == 999 { done.resume() }
                }
            }
        }
        #expect(seen.withLock { $0 } == Array(0..<1000))
        #expect(!loop.inEventLoop)
    }

    @Test func firesTimersInDeadlineOrderAndHonoursCancel() async throws {
        let loop = try EventLoop.start(name: "test")
        defer { loop.shutdown() }
        let fired = Mutex<[String]>([])
        await withCheckedContinuation { (done: CheckedContinuation<Void, Never>) in
            loop.execute {
                loop.schedule(after: .milliseconds(30)) {
                    fired.withLock { $0.append("30ms") }
                    done.resume()
                }
                loop.schedule(after: .milliseconds(10)) { fired.withLock { $0.append("10ms") } }
                let cancelled = loop.schedule(after: .milliseconds(20)) { fired.withLock { $0.append("20ms") } }
                loop.cancel(cancelled)
            }
        }
        #expect(fired.withLock { $0 } == ["10ms", "30ms"])
    }

    @Test func afterTickRunsOnceTheIterationsTasksAreDone() async throws {
        let loop = try EventLoop.start(name: "test")
        defer { loop.shutdown() }
        let order = Mutex<[String]>([])
        let gate = DispatchSemaphore(value: 0)
        // Hold the loop — and know it is held — so the next two tasks arrive in one batch.
        await withCheckedContinuation { (held: CheckedContinuation<Void, Never>) in
            loop.execute {
                held.resume()
                gate.wait()
            }
        }
        await withCheckedContinuation { (done: CheckedContinuation<Void, Never>) in
            loop.execute {
                loop.afterTick {
                    order.withLock { $0.append("flush") }
                    done.resume()
                }
                order.withLock { $0.append("first") }
            }
            loop.execute { order.withLock { $0.append("second") } }
            gate.signal()
        }
        #expect(order.withLock { $0 } == ["first", "second", "flush"])
    }

    @Test func tasksQueuedWhileAfterTickTasksRunRunTooAndNoTaskRunsTwice() async throws {
        let loop = try EventLoop.start(name: "test")
        defer { loop.shutdown() }
        let order = Mutex<[String]>([])
        for round in 1...3 {
            await withCheckedContinuation { (done: CheckedContinuation<Void, Never>) in
                loop.execute {
                    loop.afterTick {
                        order.withLock { $0.append("\(round)a") }
                        loop.afterTick {
                            order.withLock { $0.append("\(round)b") }
                            done.resume()
                        }
                    }
                }
            }
        }
        #expect(order.withLock { $0 } == ["1a", "1b", "2a", "2b", "3a", "3b"])
    }

    @Test func socketsConnectAcceptAndExchangeBytes() throws {
        let listener = try Socket.listen(on: try SocketAddress(ip: "127.0.0.1", port: 0))
        defer { listener.close() }
        let address = try listener.localAddress()
        let (client, _) = try Socket.connect(to: address)
        defer { client.close() }
        var accepted: Socket?
        for _ in 0..<1000 where accepted == nil {
            if case .processed(let pair) = try listener.accept() { accepted = pair.socket } else { usleepShort() }
        }
        let server = try #require(accepted)
        defer { server.close() }
        try client.finishConnect()
        try client.setNoDelay()
        try client.setKeepAlive(idleSeconds: 5, intervalSeconds: 1, count: 3)
        try client.setUserTimeout(milliseconds: 2000)
        #expect(try server.peerAddress().port == client.localAddress().port)

        let message = Array("hello".utf8)
        _ = try message.withUnsafeBytes { try client.write($0) }
        var received: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 16)
        for _ in 0..<1000 where received.count < message.count {
            switch try buffer.withUnsafeMutableBytes({ try server.read(into: $0) }) {
            case .processed(let count): received += buffer[0..<count]
            case .wouldBlock: usleepShort()
            }
        }
        #expect(received == message)
        // Nothing more to read: a non-blocking socket says so instead of waiting.
        guard case .wouldBlock = try buffer.withUnsafeMutableBytes({ try server.read(into: $0) }) else {
            Issue.record("expected wouldBlock")
            return
        }
    }

    @Test func connectToAClosedPortFailsWithErrno() throws {
        let port = try {
            let socket = try Socket.listen(on: try SocketAddress(ip: "127.0.0.1", port: 0))
            defer { socket.close() }
            return try socket.localAddress().port
        }()
        do {
            let (socket, connected) = try Socket.connect(to: try SocketAddress(ip: "127.0.0.1", port: port))
            defer { socket.close() }
            if !connected {
                usleepShort()
                usleepShort()
                try socket.finishConnect()
            }
            Issue.record("connect to a closed port succeeded")
        } catch let error as IOError {
            #expect(error.function == "connect")
            #expect(error.description.contains("refused"))
        }
    }
}

private func usleepShort() {
    var request = timespec(tv_sec: 0, tv_nsec: 1_000_000)
    nanosleep(&request, nil)
}
