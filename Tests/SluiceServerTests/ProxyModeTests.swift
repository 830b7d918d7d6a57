import Foundation
import SluiceHTTP
import SluiceLimit
import SluiceNet
import SluiceServer
import SluiceTestSupport
import Synchronization
import Testing

/// Proxy mode against a real upstream HTTP server on loopback (Sluice's own server with a test
/// handler, so the test controls how it answers, streams, stalls and dies).
@Suite struct ProxyModeTests {
    /// What the test upstream does, by path.
    final class Upstream: HTTPRequestHandler, @unchecked Sendable {
        func handle(_ request: HTTPRequest, responder: HTTPResponder) {
            switch request.head.path {
            case "/headers":
                let lines = request.head.headers.map { field in
                    "\(field.name.lowercased()): \(field.value)\(field.valueIsLatin1 ? " [not UTF-8]" : "")"
                }.joined(separator: "\n")
                responder.respond(
                    HTTPResponse(
                        status: 200,
                        headers: [("Connection", "keep-alive"), ("Keep-Alive", "timeout=5"), ("X-Upstream", "yes")],
                        body: Array(lines.utf8)))
            case "/count":
                var count = 0
                var sum: UInt32 = 0
                let upload = request.head.headers.first { $0.name == "X-Upload" }?.value
                responder.consumeRequestBody { event in
                    switch event {
                    case .chunk(let bytes):
                        count += bytes.count
                        if let upload { Self.received.withLock { $0[upload] = count } }
                        for byte in bytes { sum = sum &+ UInt32(byte) }
                    case .end:
                        responder.respond(.text(200, "\(count) \(sum)"))
                    }
                }
            case "/big":
                let total = Int(request.head.target.split(separator: "=").last ?? "0") ?? 0
                responder.startResponse(status: 200, headers: [], framing: .streamed)
                Self.stream(remaining: total, to: responder)
            case "/die":
                responder.startResponse(status: 200, headers: [], framing: .contentLength(100_000))
                responder.sendBody(Array(repeating: 65, count: 1_000))
                request.loop.schedule(after: .milliseconds(50)) { responder.abort() }
            case "/stall":
                break  // never answers
            case "/trickle":
                responder.startResponse(status: 200, headers: [], framing: .contentLength(100_000))
                responder.sendBody(Array(repeating: 67, count: 1_000))  // and never the rest
            case "/hangup":
                responder.abort()  // closes without a byte of answer
            default:
                responder.respond(.text(404, "no such path"))
            }
        }

        /// Body bytes `/count` has had so far, by the request's `X-Upload` name.
        static let received = Mutex<[String: Int]>([:])

        static func stream(remaining: Int, to responder: HTTPResponder) {
            var left = remaining
            while left > 0 {
                let piece = min(left, 64 * 1024)
                left -= piece
                if !responder.sendBody(Array(repeating: 66, count: piece)) {
                    responder.whenClientDrained { stream(remaining: left, to: responder) }
                    return
                }
            }
            responder.finish()
        }
    }

    /// Runs `body` with the port of a proxy in front of an upstream that answers every request
    /// with `answer`'s bytes, and that upstream.
    static func withProxy(
        toCannedAnswer answer: [UInt8], _ body: (Int, CannedUpstream) async throws -> Void
    ) async throws {
        let upstream = try CannedUpstream(answer: answer)
        defer { upstream.stop() }
        try await withProxy(upstreamURL: "http://127.0.0.1:\(upstream.port)") { port, _ in
            try await body(port, upstream)
        }
    }

    /// A Sluice in proxy mode in front of the test upstream.
    static func withProxy<T>(
        rules: [Rule] = [], upstreamTimeout: Duration = .seconds(30), upstreamURL: String? = nil,
        idleTimeout: Duration = .seconds(60), _ body: (Int, SluiceApp) async throws -> T
    ) async throws -> T {
        let upstreamGroup = try EventLoopGroup(count: 1, name: "upstream")
        var upstreamSettings = HTTPServerSettings()
        upstreamSettings.parserLimits.maxBodyLength = Int64.max
        upstreamSettings.drainTimeout = .milliseconds(100)  // /stall never answers
        let upstream = HTTPServer(settings: upstreamSettings, group: upstreamGroup, handler: Upstream())
        let upstreamAddress = try upstream.start(on: try SocketAddress(ip: "127.0.0.1", port: 0))
        defer {
            upstream.shutdown()
            upstreamGroup.shutdown()
        }
        var configuration = ServerConfiguration()
        configuration.listen = HostAndPort(host: "127.0.0.1", port: 0)
        configuration.admin = HostAndPort(host: "127.0.0.1", port: 0)
        configuration.rules = rules
        configuration.loops = 1
        configuration.upstream = upstreamURL ?? "http://\(upstreamAddress)"
        configuration.upstreamTimeout = upstreamTimeout
        configuration.http.parserLimits.maxBodyLength = Int64.max
        configuration.http.idleTimeout = idleTimeout
        try await WindowEdges.startClear(of: rules)
        let app = try SluiceApp(configuration: configuration)
        let (listen, _) = try app.start()
        defer { app.shutdown() }
        return try await body(listen.port, app)
    }

    /// A client that stops sending its body, or stops reading a large answer, is cut off once no
    /// byte has moved for the idle timeout (the server sweeps once a second).
    @Test func stalledBodiesAndStalledReadersAreCutOff() async throws {
        try await Self.withProxy(idleTimeout: .milliseconds(500)) { port, app in
            let stalledBody = try RawHTTPClient(port: port)
            try stalledBody.send("POST /count HTTP/1.1\r\nHost: t\r\nContent-Length: 100\r\n\r\n0123456789")
            // and never the other 90 bytes

            let stalledReader = try RawHTTPClient(port: port)
            try stalledReader.send("GET /big?n=\(64 << 20) HTTP/1.1\r\nHost: t\r\n\r\n")  // never read
            let deadline = ContinuousClock.now + .seconds(10)
            while app.openConnections > 0 && ContinuousClock.now < deadline {
                try await Task.sleep(for: .milliseconds(100))
            }
            #expect(app.openConnections == 0, "the server let go of both stalled clients")
            withExtendedLifetime(stalledBody) {}  // its socket stays open until here
        }
    }

    /// The stall deadline is for clients: an upstream slower than the idle timeout (but within the
    /// upstream timeout) still gets its 504 to the client.
    @Test func aSlowUpstreamIsNotMistakenForAStalledClient() async throws {
        try await Self.withProxy(upstreamTimeout: .milliseconds(2_500), idleTimeout: .milliseconds(500)) { port, _ in
            let client = try RawHTTPClient(port: port)
            #expect(try client.get("/stall").status == 504)
        }
    }

    @Test func forwardsWithForwardingHeadersAndWithoutHopByHopOnes() async throws {
        let rule = Rule(name: "p", policy: try RateLimitPolicy(algorithm: .fixedWindow, limit: 2, window: .seconds(60)))
        try await Self.withProxy(rules: [rule]) { port, _ in
            let client = try RawHTTPClient(port: port)
            let response = try client.get(
                "/headers?q=1",
                headers: [
                    "X-Forwarded-For: 198.51.100.9", "Connection: keep-alive, X-Secret", "X-Secret: s", "TE: trailers",
                    "X-Kept: k",
                ])
            #expect(response.status == 200)
            let seen = response.text
            #expect(seen.contains("x-forwarded-for: 198.51.100.9, 127.0.0.1"))
            #expect(seen.contains("x-forwarded-proto: http"))
            #expect(seen.contains("x-forwarded-host: test"))
            #expect(seen.contains("x-kept: k"))
            #expect(!seen.contains("x-secret"), "fields named in Connection are hop-by-hop")
            #expect(!seen.contains("te:"))
            #expect(response.header("X-Upstream") == "yes")
            #expect(response.header("Keep-Alive") == nil, "the upstream's hop-by-hop fields stay behind")
            #expect(response.header("X-RateLimit-Remaining") == "1", "the limiter's headers are added")
            #expect(try client.get("/headers").status == 200)
            #expect(try client.get("/headers").status == 429, "denied requests never reach the upstream")
        }
    }

    /// The upstream gets an upload's first bytes while the client still holds the rest: the proxy
    /// passes a body on as it comes rather than gathering it first, and the whole of it arrives.
    @Test func streamsALargeUploadAsItComes() async throws {
        try await Self.withProxy { port, _ in
            let client = try RawHTTPClient(port: port, timeout: .seconds(60))
            let piece = [UInt8]((0..<(1 << 20)).map { UInt8(truncatingIfNeeded: $0 &* 31) })
            let megabytes = 16
            let upload = "upload-\(UInt64.random(in: 0...UInt64.max))"
            try client.send(
                "POST /count HTTP/1.1\r\nHost: t\r\nX-Upload: \(upload)\r\n"
                    + "Content-Length: \(piece.count * megabytes)\r\n\r\n")
            try client.send(piece)
            let deadline = ContinuousClock.now + .seconds(10)
            var arrived = 0
            while arrived == 0 && ContinuousClock.now < deadline {
                try await Task.sleep(for: .milliseconds(10))
                arrived = Upstream.received.withLock { $0[upload] ?? 0 }
            }
            #expect(arrived > 0, "the upstream had none of the first megabyte while the other 15 waited")
            for _ in 1..<megabytes { try client.send(piece) }
            let response = try client.readResponse()
            let pieceSum = piece.reduce(UInt32(0)) { $0 &+ UInt32($1) }
            let expectedSum = pieceSum &* UInt32(megabytes)
            #expect(response.text == "\(piece.count * megabytes) \(expectedSum)\n")

            // Chunked too, re-framed for the upstream.
            var chunked = "POST /count HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n"
            for size in [1, 10, 1000, 70_000] {
                chunked += String(size, radix: 16) + "\r\n" + String(repeating: "a", count: size) + "\r\n"
            }
            chunked += "0\r\n\r\n"
            try client.send(chunked)
            #expect(try client.readResponse().text == "71011 \(71011 * 97)\n")
        }
    }

    @Test func streamsALargeDownload() async throws {
        try await Self.withProxy { port, _ in
            let client = try RawHTTPClient(port: port, timeout: .seconds(60))
            let response = try client.get("/big?n=\(20 << 20)", headers: [])
            #expect(response.status == 200)
            #expect(response.body.count == 20 << 20)
            #expect(response.body.allSatisfy { $0 == 66 })
            #expect(try client.get("/headers").status == 200, "the connection is reused afterwards")
        }
    }

    @Test func anUpstreamThatDiesMidResponseClosesTheClientConnection() async throws {
        try await Self.withProxy { port, _ in
            let client = try RawHTTPClient(port: port)
            try client.send("GET /die HTTP/1.1\r\nHost: t\r\n\r\n")
            #expect(throws: (any Error).self) { try client.readResponse() }
            #expect(try RawHTTPClient(port: port).get("/headers").status == 200, "the proxy goes on serving")
        }
    }

    @Test func anUpstreamThatHangsUpBeforeAnsweringGives502() async throws {
        try await Self.withProxy { port, _ in
            let client = try RawHTTPClient(port: port)
            #expect(try client.get("/hangup").status == 502)
            #expect(try RawHTTPClient(port: port).get("/headers").status == 200)
        }
    }

    @Test func headAnswersKeepTheirLengthAndHaveNoBody() async throws {
        try await Self.withProxy { port, _ in
            let client = try RawHTTPClient(port: port)
            try client.send("HEAD /headers HTTP/1.1\r\nHost: t\r\n\r\n")
            let head = try client.readResponse(isHead: true)
            #expect(head.status == 200)
            #expect(Int(head.header("Content-Length") ?? "") ?? 0 > 0)
            #expect(try client.get("/headers").status == 200, "no stray body bytes were left on the connection")
        }
    }

    /// `Connection: Content-Length` must not take the body's framing away: the upstream would read
    /// the body as a request of its own, past the limiter, and answer it to whoever's request comes
    /// next on that pooled connection.
    @Test func aConnectionOptionCannotUnframeTheBody() async throws {
        try await Self.withProxy { port, _ in
            let smuggled = "GET /headers HTTP/1.1\r\nHost: internal\r\n\r\n"
            let sum = smuggled.utf8.reduce(UInt32(0)) { $0 &+ UInt32($1) }
            let client = try RawHTTPClient(port: port)
            try client.send(
                "POST /count HTTP/1.1\r\nHost: t\r\nConnection: Content-Length\r\n"
                    + "Content-Length: \(smuggled.utf8.count)\r\n\r\n\(smuggled)")
            let response = try client.readResponse()
            #expect(response.text == "\(smuggled.utf8.count) \(sum)\n", "the body reached /count whole")
            let next = try RawHTTPClient(port: port).get("/headers")
            #expect(next.text.contains("host: test"), "the next client got its own answer: \(next.text)")
        }
    }

    /// The upstream gets a `Host` for the authority the request is for and an origin-form target:
    /// an absolute-form target's authority wins over `Host`, and an HTTP/1.0 request without one
    /// gets the upstream's. A reverse proxy opens no tunnels: `CONNECT` and `OPTIONS *` get 501.
    @Test func theUpstreamGetsTheRequestsHostAndOriginFormTarget() async throws {
        try await Self.withProxy { port, _ in
            let client = try RawHTTPClient(port: port)
            let absolute = try client.get("http://other.example/headers?q=1", headers: ["X-Kept: k"])
            #expect(absolute.status == 200)
            #expect(absolute.text.contains("host: other.example"))
            #expect(!absolute.text.contains("host: test"))
            let old = try RawHTTPClient(port: port)
            try old.send("GET /headers HTTP/1.0\r\n\r\n")
            let answer = try old.readResponse()
            #expect(answer.status == 200)
            #expect(answer.text.contains("host: 127.0.0.1:"), "the upstream's authority: \(answer.text)")
            for request in [
                "CONNECT example.com:443 HTTP/1.1\r\nHost: example.com:443\r\n\r\n",
                "OPTIONS * HTTP/1.1\r\nHost: t\r\n\r\n",
            ] {
                let tunnel = try RawHTTPClient(port: port)
                try tunnel.send(request)
                #expect(try tunnel.readResponse().status == 501)
            }
        }
    }

    /// An upstream that answers part of a body and then goes silent is let go after the upstream
    /// timeout, and the client's connection closed, rather than holding both until the upstream
    /// closes; a client that reads slowly is not the upstream's fault.
    @Test func anUpstreamSilentMidBodyIsCutOffAfterTheUpstreamTimeout() async throws {
        try await Self.withProxy(upstreamTimeout: .milliseconds(500)) { port, _ in
            let client = try RawHTTPClient(port: port, timeout: .seconds(20))
            let started = ContinuousClock.now
            try client.send("GET /trickle HTTP/1.1\r\nHost: t\r\n\r\n")
            #expect(throws: (any Error).self, "the answer ends cut short") { try client.readResponse() }
            let waited = ContinuousClock.now - started
            #expect(waited < .seconds(8), "closed after the upstream timeout, not the client's 20 s: \(waited)")
            let reader = try RawHTTPClient(port: port, timeout: .seconds(30))
            try reader.send("GET /big?n=\(8 << 20) HTTP/1.1\r\nHost: t\r\n\r\n")
            try await Task.sleep(for: .seconds(1.5))  // reads nothing for three upstream timeouts
            let response = try reader.readResponse()
            #expect(response.status == 200 && response.body.count == 8 << 20, "a slow reader still gets it all")
        }
    }

    /// A client that half-closes after pipelining requests gets every one answered, in order,
    /// while the first is still with the upstream; then the connection closes.
    @Test func everyRequestSentBeforeAHalfCloseIsAnswered() async throws {
        try await Self.withProxy { port, _ in
            for count in [1, 2, 3] {
                let client = try RawHTTPClient(port: port)
                let requests = (1...count).map { "GET /headers?n=\($0) HTTP/1.1\r\nHost: t\r\n\r\n" }
                try client.send(requests.joined())
                client.shutdownWrite()
                for index in 1...count {
                    #expect(try client.readResponse().status == 200, "request \(index) of \(count)")
                }
                #expect(client.isClosedByPeer(), "closed after the last of \(count)")
            }
        }
    }

    /// Sluice forwards no `Upgrade`, so an upstream that switches protocols anyway has answered
    /// something the client never asked for: the client gets a 502, not a 101.
    @Test func anUnaskedSwitchOfProtocolsGives502() async throws {
        let switching = "HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\r\n"
        try await Self.withProxy(toCannedAnswer: Array(switching.utf8)) { port, _ in
            let client = try RawHTTPClient(port: port)
            #expect(try client.get("/", headers: ["Connection: Upgrade", "Upgrade: websocket"]).status == 502)
        }
    }

    /// Bytes past the end of an answer mean the upstream and Sluice disagree on where it ended: the
    /// answer stands, but its connection is retired, so the stray bytes cannot answer a later call.
    @Test func bytesPastTheEndOfAnAnswerRetireItsConnection() async throws {
        let stray = "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nokHTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nstray"
        try await Self.withProxy(toCannedAnswer: Array(stray.utf8)) { port, upstream in
            let client = try RawHTTPClient(port: port)
            for index in 1...3 {
                let response = try client.get("/")
                #expect(response.status == 200 && response.text == "ok", "answer \(index): \(response.text)")
            }
            #expect(upstream.acceptedConnections == 3, "each answer's connection was closed after it")
        }
        // A stray line end after an answer is no disagreement: the connection is kept.
        let lineEnd = "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok\r\n"
        try await Self.withProxy(toCannedAnswer: Array(lineEnd.utf8)) { port, lenient in
            let client = try RawHTTPClient(port: port)
            for _ in 1...3 { #expect(try client.get("/").text == "ok") }
            #expect(lenient.acceptedConnections == 1, "one connection for all three")
        }
    }

    /// A field value that is not valid UTF-8 (obs-text, e.g. ISO-8859-1) crosses the proxy byte for
    /// byte, both ways, rather than as the UTF-8 of the characters it was read as.
    @Test func fieldValuesThatAreNotUTF8PassUnchanged() async throws {
        let latin1: [UInt8] = Array("caf".utf8) + [0xE9]
        let answer = Array("HTTP/1.1 200 OK\r\nX-Latin: ".utf8) + latin1 + Array("\r\nContent-Length: 2\r\n\r\nok".utf8)
        try await Self.withProxy(toCannedAnswer: answer) { port, _ in
            let response = try RawHTTPClient(port: port).get("/")
            // The client reads the head as UTF-8: a lone 0xE9 shows as U+FFFD, its UTF-8 (C3 A9) as "é".
            #expect(response.header("X-Latin") == "caf\u{FFFD}", "sent as \(response.header("X-Latin") ?? "nothing")")
        }
        try await Self.withProxy { port, _ in
            let client = try RawHTTPClient(port: port)
            try client.send(
                Array("GET /headers HTTP/1.1\r\nHost: t\r\nX-Latin: ".utf8) + latin1 + Array("\r\n\r\n".utf8))
            let response = try client.readResponse()
            #expect(response.text.contains("x-latin: caf\u{E9} [not UTF-8]"), "the upstream got: \(response.text)")
        }
    }

    @Test func unreachableUpstreamGives502AndASlowOneGives504() async throws {
        let closedPort = try FreePort.pick()
        try await Self.withProxy(upstreamURL: "http://127.0.0.1:\(closedPort)") { (port, _) async throws in
            #expect(try RawHTTPClient(port: port).get("/headers").status == 502)
        }
        try await Self.withProxy(upstreamTimeout: .milliseconds(300)) { port, _ in
            let client = try RawHTTPClient(port: port)
            #expect(try client.get("/stall").status == 504)
        }
    }
}
