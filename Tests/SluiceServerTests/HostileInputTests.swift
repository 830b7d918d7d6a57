import SluiceLimit
import SluiceNet
import SluiceServer
import SluiceTestSupport
import Testing

/// Every malformed or abusive request gets its status and a closed connection, and the server
/// goes on serving the next client.
@Suite struct HostileInputTests {
    static let cases: [(name: String, request: String, status: Int)] = [
        ("garbage request line", "HELLO\r\n\r\n", 400),
        ("request line too long", "GET /\(String(repeating: "a", count: 9000)) HTTP/1.1\r\nHost: t\r\n\r\n", 414),
        (
            "headers too large",
            "GET / HTTP/1.1\r\nHost: t\r\n"
                + String(repeating: "X-Pad: \(String(repeating: "p", count: 1000))\r\n", count: 40) + "\r\n", 431
        ),
        ("body too large", "POST / HTTP/1.1\r\nHost: t\r\nContent-Length: 99999999999\r\n\r\n", 413),
        ("unknown version", "GET / HTTP/2.0\r\nHost: t\r\n\r\n", 505),
        (
            "Content-Length with Transfer-Encoding",
            "POST / HTTP/1.1\r\nHost: t\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n", 400
        ),
        (
            "differing duplicate Content-Length",
            "POST / HTTP/1.1\r\nHost: t\r\nContent-Length: 3\r\nContent-Length: 4\r\n\r\nabcd", 400
        ),
        ("bad chunk size", "POST / HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n", 400),
        ("obs-fold", "GET / HTTP/1.1\r\nHost: t\r\nX-A: one\r\n two\r\n\r\n", 400),
        ("NUL in a field value", "GET / HTTP/1.1\r\nHost: t\r\nX-A: a\u{0}b\r\n\r\n", 400),
        ("bare CR in a field value", "GET / HTTP/1.1\r\nHost: t\r\nX-A: a\rb\r\n\r\n", 400),
        ("bare LF line ending", "GET / HTTP/1.1\nHost: t\n\n", 400),
        ("missing Host on HTTP/1.1", "GET / HTTP/1.1\r\n\r\n", 400),
        ("space before colon", "GET / HTTP/1.1\r\nHost : t\r\n\r\n", 400),
    ]

    @Test func eachHostileRequestGetsItsStatusAndTheServerServesTheNextClient() async throws {
        let rule = Rule(
            name: "r", policy: try RateLimitPolicy(algorithm: .fixedWindow, limit: 1_000, window: .seconds(60)))
        try await ServerEndToEndTests.withApp(rules: [rule]) { _, port, _ in
            for hostile in Self.cases {
                let attacker = try RawHTTPClient(port: port)
                try attacker.send(hostile.request)
                let response = try attacker.readResponse()
                #expect(response.status == hostile.status, "\(hostile.name)")
                #expect(response.header("Connection") == "close", "\(hostile.name)")
                #expect(attacker.isClosedByPeer(), "\(hostile.name): the connection is closed")
                #expect(try RawHTTPClient(port: port).get("/").status == 200, "served after \(hostile.name)")
            }
        }
    }

    @Test func aClientThatHalfClosesMidBodyGets400() async throws {
        try await ServerEndToEndTests.withApp(rules: []) { _, port, _ in
            let client = try RawHTTPClient(port: port)
            try client.send(
                "POST / HTTP/1.1\r\nHost: t\r\nContent-Length: 100\r\n\r\n" + String(repeating: "x", count: 50))
            client.shutdownWrite()
            #expect(try client.readResponse().status == 400)
            #expect(client.isClosedByPeer())
        }
    }

    @Test func slowClientsAreCutOffByTheHeaderTimeout() async throws {
        var configuration = ServerConfiguration()
        configuration.listen = HostAndPort(host: "127.0.0.1", port: 0)
        configuration.admin = HostAndPort(host: "127.0.0.1", port: 0)
        configuration.http.headerTimeout = .milliseconds(300)
        configuration.http.idleTimeout = .milliseconds(600)
        let app = try SluiceApp(configuration: configuration)
        let (listen, _) = try app.start()
        defer { app.shutdown() }
        let slowloris = try RawHTTPClient(port: listen.port)
        try slowloris.send("GET / HTTP/1.1\r\nHost: t\r\n")  // and never the blank line
        let response = try slowloris.readResponse()
        #expect(response.status == 408)
        #expect(slowloris.isClosedByPeer())
        let idle = try RawHTTPClient(port: listen.port)
        #expect(try idle.get("/").status == 200)
        #expect(idle.isClosedByPeer(), "an idle keep-alive connection is closed after the idle timeout")
    }

    @Test func connectionsBeyondTheCapAreClosed() async throws {
        var configuration = ServerConfiguration()
        configuration.listen = HostAndPort(host: "127.0.0.1", port: 0)
        configuration.admin = HostAndPort(host: "127.0.0.1", port: 0)
        configuration.http.maxConnections = 3
        let app = try SluiceApp(configuration: configuration)
        let (listen, _) = try app.start()
        defer { app.shutdown() }
        let held = try (0..<3).map { _ in try RawHTTPClient(port: listen.port) }
        for client in held { #expect(try client.get("/").status == 200) }
        let extra = try RawHTTPClient(port: listen.port)
        #expect(extra.isClosedByPeer(), "the fourth connection is closed at once")
        #expect(try held[0].get("/").status == 200, "the others still work")
    }
}
