import Foundation
import SluiceNet

#if canImport(Glibc)
    import Glibc
#endif

/// A deliberately plain HTTP/1.1 client over a blocking socket, for end-to-end tests: it sends
/// exactly the bytes it is given (well-formed or hostile) and reads responses framed by
/// `Content-Length`.
///
/// ```swift
/// let client = try RawHTTPClient(port: port)
/// try client.send("GET / HTTP/1.1\r\nHost: x\r\n\r\n")
/// let response = try client.readResponse()
/// #expect(response.status == 200)
/// ```
public final class RawHTTPClient {
    /// One parsed response.
    public struct Response: Sendable {
        /// The status code.
        public var status: Int
        /// Header fields in order, names as sent.
        public var headers: [(String, String)]
        /// The body.
        public var body: [UInt8]

        /// The first value of header `name` (case-insensitive).
        public func header(_ name: String) -> String? {
            headers.first { $0.0.lowercased() == name.lowercased() }?.1
        }

        /// The body as UTF-8 text.
        public var text: String { String(decoding: body, as: UTF8.self) }
    }

    private let fd: Int32
    private var buffer: [UInt8] = []

    /// Connects to `host:port`; reads give up after `timeout`.
    public init(host: String = "127.0.0.1", port: Int, timeout: Duration = .seconds(5)) throws {
        let address = try SocketAddress(ip: host, port: port)
        fd = socket(address.family, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw FixtureError("socket() failed: errno \(errno)") }
        var seconds = timeval(tv_sec: Int(timeout.components.seconds), tv_usec: 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &seconds, socklen_t(MemoryLayout<timeval>.size))
        let result: Int32
        switch address {
        case .v4(var raw):
            result = withUnsafePointer(to: &raw) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                    connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
                }
            }
        case .v6(var raw):
            result = withUnsafePointer(to: &raw) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                    connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in6>.size))
                }
            }
        }
        guard result == 0 else {
            close(fd)
            throw FixtureError("connect to \(address) failed: errno \(errno)")
        }
    }

    deinit { close(fd) }

    /// Closes the sending side (FIN), keeping the receiving side open.
    public func shutdownWrite() {
        _ = Glibc.shutdown(fd, Int32(SHUT_WR))
    }

    /// Sends text as UTF-8.
    public func send(_ text: String) throws { try send(Array(text.utf8)) }

    /// Sends bytes, all of them.
    public func send(_ bytes: [UInt8]) throws {
        var sent = 0
        while sent < bytes.count {
            let count = bytes[sent...].withUnsafeBytes { Glibc.send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
            guard count > 0 else { throw FixtureError("send failed: errno \(errno)") }
            sent += count
        }
    }

    /// Sends a GET for `path` with the given extra header lines.
    public func get(_ path: String, headers: [String] = []) throws -> Response {
        try send("GET \(path) HTTP/1.1\r\nHost: test\r\n" + headers.map { $0 + "\r\n" }.joined() + "\r\n")
        return try readResponse()
    }

    /// Reads one response (status line, headers, `Content-Length` body).
    public func readResponse(isHead: Bool = false) throws -> Response {
        let headEnd = try readUntil(Array("\r\n\r\n".utf8))
        let head = String(decoding: buffer[0..<headEnd], as: UTF8.self)
        buffer.removeFirst(headEnd + 4)
        var lines = head.components(separatedBy: "\r\n")
        let statusLine = lines.removeFirst().split(separator: " ")
        guard statusLine.count >= 2, let status = Int(statusLine[1]) else {
            throw FixtureError("bad status line in: \(head)")
        }
        let headers = lines.compactMap { line -> (String, String)? in
            guard let colon = line.firstIndex(of: ":") else { return nil }
            return (String(line[..<colon]), line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces))
        }
        var response = Response(status: status, headers: headers, body: [])
        if !isHead && response.header("Transfer-Encoding")?.lowercased() == "chunked" {
            response.body = try readChunkedBody()
            return response
        }
        let length = isHead ? 0 : Int(response.header("Content-Length") ?? "0") ?? 0
        response.body = try readExactly(length)
        return response
    }

    private func readExactly(_ length: Int) throws -> [UInt8] {
        while buffer.count < length { try fill() }
        let bytes = Array(buffer[0..<length])
        buffer.removeFirst(length)
        return bytes
    }

    /// Reads chunks until the last one; trailers are skipped.
    private func readChunkedBody() throws -> [UInt8] {
        var body: [UInt8] = []
        while true {
            let lineEnd = try readUntil(Array("\r\n".utf8))
            let sizeText = String(decoding: buffer[0..<lineEnd], as: UTF8.self).split(separator: ";").first ?? ""
            buffer.removeFirst(lineEnd + 2)
            guard let size = Int(sizeText, radix: 16) else { throw FixtureError("bad chunk size \(sizeText)") }
            if size == 0 {
                while true {
                    let end = try readUntil(Array("\r\n".utf8))
                    buffer.removeFirst(end + 2)
                    if end == 0 { return body }
                }
            }
            body += try readExactly(size)
            _ = try readExactly(2)
        }
    }

    /// True when the server has closed the connection (reads end of stream) within the timeout.
    public func isClosedByPeer() -> Bool {
        if !buffer.isEmpty { return false }
        do {
            try fill()
            return false
        } catch {
            return true
        }
    }

    private func readUntil(_ marker: [UInt8]) throws -> Int {
        while true {
            if buffer.count >= marker.count {
                for start in 0...(buffer.count - marker.count)
                where buffer[start..<start + marker.count].elementsEqual(marker) {
                    return start
                }
            }
            try fill()
        }
    }

    private func fill() throws {
        var chunk = [UInt8](repeating: 0, count: 65536)
        let count = recv(fd, &chunk, chunk.count, 0)
        guard count > 0 else {
            throw FixtureError(count == 0 ? "connection closed by the server" : "recv failed: errno \(errno)")
        }
        buffer += chunk[0..<count]
    }
}
