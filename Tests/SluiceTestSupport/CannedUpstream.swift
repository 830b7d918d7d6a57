import Foundation
import SluiceNet
import Synchronization

#if canImport(Glibc)
    import Glibc
#endif

/// A loopback HTTP upstream that answers every request head it reads with the same raw bytes,
/// however wrong they are, and counts the connections it accepted: a stand-in for a misbehaving
/// server, to test what a proxy does with answers no well-behaved one would send. It serves one
/// connection at a time, until the peer closes it, and takes requests without bodies only (a
/// body's bytes would be read as the next head).
///
/// ```swift
/// let upstream = try CannedUpstream(answer: Array("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok".utf8))
/// defer { upstream.stop() }
/// // point a proxy at upstream.port, send requests, then read upstream.acceptedConnections
/// ```
public final class CannedUpstream: Sendable {
    /// The loopback port it listens on.
    public let port: Int
    private let listener: Socket
    private let answer: [UInt8]
    private let accepted = Atomic<Int>(0)
    private let stopped = Atomic<Bool>(false)
    private let finished = DispatchSemaphore(value: 0)

    /// Listens on a free loopback port and starts serving `answer` on a thread of its own.
    public init(answer: [UInt8]) throws {
        self.answer = answer
        let listener = try Socket.listen(on: try SocketAddress(ip: "127.0.0.1", port: 0))
        do {
            port = try listener.localAddress().port
        } catch {
            listener.close()
            throw error
        }
        self.listener = listener
        Thread.detachNewThread { [self] in
            serve()
            finished.signal()
        }
    }

    /// How many connections it has accepted so far.
    public var acceptedConnections: Int { accepted.load(ordering: .acquiring) }

    /// Stops serving, waits for the serving thread and closes the listener; once, however often called.
    public func stop() {
        guard !stopped.exchange(true, ordering: .acquiringAndReleasing) else { return }
        finished.wait()
        listener.close()
    }

    private func serve() {
        while !stopped.load(ordering: .acquiring) {
            var ready = pollfd(fd: listener.fd, events: Int16(POLLIN), revents: 0)
            guard poll(&ready, 1, 50) == 1, case .processed(let (connection, _))? = try? listener.accept() else {
                continue
            }
            accepted.add(1, ordering: .releasing)
            answerEveryRequest(on: connection)
            connection.close()
        }
    }

    /// Answers each request head (a blank line ends it) until the peer closes or `stop()`.
    private func answerEveryRequest(on connection: Socket) {
        var pending: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 16 * 1024)
        while !stopped.load(ordering: .acquiring) {
            var ready = pollfd(fd: connection.fd, events: Int16(POLLIN), revents: 0)
            guard poll(&ready, 1, 50) == 1 else { continue }
            let count = chunk.withUnsafeMutableBytes { Glibc.read(connection.fd, $0.baseAddress, $0.count) }
            guard count > 0 else { return }
            pending += chunk[0..<count]
            while let end = Self.endOfHead(in: pending) {
                pending.removeFirst(end)
                guard send(answer, on: connection) else { return }
            }
        }
    }

    /// Writes all of `bytes` (the socket is non-blocking: waits for room), without SIGPIPE should
    /// the peer be gone; false when it is.
    private func send(_ bytes: [UInt8], on connection: Socket) -> Bool {
        var sent = 0
        while sent < bytes.count && !stopped.load(ordering: .acquiring) {
            let count = bytes[sent...].withUnsafeBytes {
                Glibc.send(connection.fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL))
            }
            if count > 0 {
                sent += count
            } else if count < 0 && (errno == EAGAIN || errno == EINTR) {
                var ready = pollfd(fd: connection.fd, events: Int16(POLLOUT), revents: 0)
                _ = poll(&ready, 1, 50)
            } else {
                return false
            }
        }
        return sent == bytes.count
    }

    private static func endOfHead(in bytes: [UInt8]) -> Int? {
        let blankLine: [UInt8] = [13, 10, 13, 10]
        guard bytes.count >= 4 else { return nil }
        for start in 0...(bytes.count - 4) where Array(bytes[start..<start + 4]) == blankLine {
            return start + 4
        }
        return nil
    }
}
