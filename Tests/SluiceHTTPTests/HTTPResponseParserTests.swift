import Testing

@testable import SluiceHTTP

/// Parses `text` in one piece, as the answer to a `method` request, and returns the first head.
private func parseHead(_ text: String, method: String = "GET") throws -> HTTPResponseHead {
    let run = runResponseParser(wire(text), feed: .whole, methods: [method])
    if let error = run.error {
        throw error
    }
    return try #require(run.heads.first)
}

/// How a response is framed and whether its connection may be reused.
struct ResponseFramingCase: Sendable, CustomTestStringConvertible {
    var method: String
    var wire: String
    var framing: HTTPResponseBodyFraming
    var keepAlive: Bool

    /// `fields` are field lines, each followed by CRLF; the head ends after them.
    init(
        _ method: String, _ statusLine: String, _ fields: [String], _ framing: HTTPResponseBodyFraming,
        _ keepAlive: Bool
    ) {
        self.method = method
        self.wire = statusLine + "\r\n" + fields.map { $0 + "\r\n" }.joined() + "\r\n"
        self.framing = framing
        self.keepAlive = keepAlive
    }

    var testDescription: String {
        "\(method) → " + wire.split(separator: "\r\n").joined(separator: "; ")
    }
}

let responseFramingCases: [ResponseFramingCase] = [
    ResponseFramingCase("GET", "HTTP/1.1 200 OK", ["Content-Length: 3"], .contentLength(3), true),
    ResponseFramingCase(
        "GET", "HTTP/1.1 200 OK", ["Content-Length: 3", "Connection: close"], .contentLength(3), false),
    ResponseFramingCase(
        "GET", "HTTP/1.1 200 OK", ["Content-Length: 3", "Connection: Upgrade, CLOSE"], .contentLength(3), false),
    ResponseFramingCase(
        "GET", "HTTP/1.1 200 OK", ["Content-Length: 3", "Connection: keep-alive"], .contentLength(3), true),
    ResponseFramingCase("GET", "HTTP/1.1 200 OK", ["Content-Length: 3, 3"], .contentLength(3), true),
    ResponseFramingCase("GET", "HTTP/1.1 200 OK", ["Content-Length: 0"], .contentLength(0), true),
    ResponseFramingCase("GET", "HTTP/1.0 200 OK", ["Content-Length: 3"], .contentLength(3), false),
    ResponseFramingCase(
        "GET", "HTTP/1.0 200 OK", ["Content-Length: 3", "Connection: Keep-Alive"], .contentLength(3), true),
    ResponseFramingCase(
        "GET", "HTTP/1.0 200 OK", ["Content-Length: 3", "Connection: keep-alive, close"], .contentLength(3), false
    ),
    ResponseFramingCase("GET", "HTTP/1.1 200 OK", ["Transfer-Encoding: chunked"], .chunked, true),
    ResponseFramingCase("GET", "HTTP/1.1 200 OK", ["Transfer-Encoding: Chunked"], .chunked, true),
    ResponseFramingCase(
        "GET", "HTTP/1.1 200 OK", ["Content-Length: 3", "Transfer-Encoding: chunked"], .chunked, false),
    ResponseFramingCase("GET", "HTTP/1.1 200 OK", [], .untilClose, false),
    ResponseFramingCase("GET", "HTTP/1.0 200 OK", ["Connection: keep-alive"], .untilClose, false),
    ResponseFramingCase("GET", "HTTP/1.1 404 Not Found", [], .untilClose, false),
    ResponseFramingCase("GET", "HTTP/1.1 204 No Content", [], .none, true),
    ResponseFramingCase("GET", "HTTP/1.1 204 No Content", ["Transfer-Encoding: chunked"], .none, true),
    ResponseFramingCase("GET", "HTTP/1.0 204 No Content", [], .none, false),
    ResponseFramingCase("GET", "HTTP/1.1 304 Not Modified", ["Content-Length: 99"], .none, true),
    ResponseFramingCase("GET", "HTTP/1.0 304 Not Modified", ["Connection: keep-alive"], .none, true),
    ResponseFramingCase("HEAD", "HTTP/1.1 200 OK", ["Content-Length: 99"], .none, true),
    ResponseFramingCase("HEAD", "HTTP/1.1 200 OK", [], .none, true),
    ResponseFramingCase("HEAD", "HTTP/1.1 200 OK", ["Transfer-Encoding: chunked"], .none, true),
    ResponseFramingCase("POST", "HTTP/1.1 100 Continue", [], .none, true),
    ResponseFramingCase(
        "GET", "HTTP/1.1 101 Switching Protocols", ["Upgrade: websocket", "Connection: Upgrade"], .none, false),
    ResponseFramingCase("CONNECT", "HTTP/1.1 200 Connection Established", [], .none, false),
    ResponseFramingCase(
        "CONNECT", "HTTP/1.1 407 Proxy Authentication Required", ["Content-Length: 0"], .contentLength(0), true),
]

@Suite struct HTTPResponseParserTests {
    @Test func parsesTheStatusLineAndFields() throws {
        let head = try parseHead(
            "HTTP/1.1 404 Not Found\r\nContent-Type: text/html\r\nX-Empty:\r\nset-cookie: a=1\r\n"
                + "Set-Cookie:\t b=2 \t\r\nContent-Length: 0\r\n\r\n"
        )
        #expect(head.status == 404)
        #expect(head.reason == "Not Found")
        #expect(head.version == .http1_1)
        #expect(!head.isInterim)
        #expect(head.headers.map(\.name) == ["Content-Type", "X-Empty", "set-cookie", "Set-Cookie", "Content-Length"])
        #expect(head.headers.all(name: "SET-COOKIE") == ["a=1", "b=2"])
        #expect(head.headers.first(name: "x-empty") == "")
    }

    @Test(arguments: [
        ("HTTP/1.1 200 OK\r\n", 200, "OK"),
        ("HTTP/1.1 200 \r\n", 200, ""),
        ("HTTP/1.1 200\r\n", 200, ""),
        ("HTTP/1.1 503 Service  Temporarily\tUnavailable \r\n", 503, "Service  Temporarily\tUnavailable "),
        ("HTTP/1.1 299  odd but fine\r\n", 299, " odd but fine"),
        ("HTTP/1.0 599 Last\r\n", 599, "Last"),
        ("HTTP/1.1 100 Continue\r\n", 100, "Continue"),
    ])
    func statusLines(line: String, status: Int, reason: String) throws {
        let head = try parseHead(line + "Content-Length: 0\r\n\r\n")
        #expect(head.status == status)
        #expect(head.reason == reason)
    }

    @Test func reasonKeepsObsText() throws {
        let input = wire("HTTP/1.1 200 Tr") + [0xE8, 0x73] + wire(" bien\r\nContent-Length: 0\r\n\r\n")
        let run = runResponseParser(input, feed: .byteByByte)
        #expect(run.error == nil)
        #expect(
            run.heads.first?.reason.unicodeScalars.map(\.value) == [
                0x54, 0x72, 0xE8, 0x73, 0x20, 0x62, 0x69, 0x65, 0x6E,
            ])
    }

    @Test(arguments: responseFramingCases)
    func framingAndKeepAlive(example: ResponseFramingCase) throws {
        let head = try parseHead(example.wire, method: example.method)
        #expect(head.bodyFraming == example.framing)
        #expect(head.keepAlive == example.keepAlive)
    }

    @Test func transferEncodingWithContentLengthIsReadAsChunked() {
        let run = runResponseParser(
            wire("HTTP/1.1 200 OK\r\nContent-Length: 100\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n"),
            feed: .byteByByte
        )
        #expect(run.error == nil)
        #expect(run.responses.map(\.body) == ["abc"])
        #expect(run.heads.first?.keepAlive == false)
        #expect(run.events.last == .end)
    }

    @Test func switchingProtocolsEndsTheResponse() throws {
        var parser = HTTPResponseParser()
        var offset = 0
        let input = wire("HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n\r\n\u{81}\u{05}hello")
        guard case .head(let head) = try parser.next(input, offset: &offset, requestMethod: "GET") else {
            Issue.record("expected a head")
            return
        }
        #expect(!head.isInterim)
        #expect(try parser.next(input, offset: &offset, requestMethod: "GET") == .end)
        #expect(parser.isBetweenResponses)
        #expect(wire("\u{81}\u{05}hello") == Array(input[offset...]))
    }

    @Test func interimHeadsKeepTheMethodForTheFinalOne() {
        let run = runResponseParser(
            wire("HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\n"),
            feed: .whole,
            methods: ["HEAD"]
        )
        #expect(run.error == nil)
        #expect(run.heads.map(\.status) == [100, 200])
        #expect(run.heads.map(\.bodyFraming) == [.none, .none])
        #expect(run.endCount == 1)
    }

    @Test func bodyUntilCloseMayBeEmpty() {
        let run = runResponseParser(wire("HTTP/1.0 200 OK\r\n\r\n"), feed: .whole, closeAtEnd: true)
        #expect(run.error == nil)
        #expect(run.responses.map(\.body) == [""])
        #expect(run.endCount == 1)
    }

    @Test func closeBetweenResponsesIsClean() throws {
        let run = runResponseParser(wire("HTTP/1.1 204 No Content\r\n\r\n\r\n"), feed: .whole, closeAtEnd: true)
        #expect(run.error == nil)
        #expect(run.endCount == 1)
        var parser = HTTPResponseParser()
        #expect(try parser.peerClosed() == nil)
    }

    @Test func responsesIgnoreTheBodyLimitButNotChunkSizes() {
        let limits = HTTPParserLimits(maxBodyLength: 4)
        let fixed = wire("HTTP/1.1 200 OK\r\nContent-Length: 11\r\n\r\nhello world")
        let run = runResponseParser(fixed, feed: .whole, limits: limits)
        #expect(run.error == nil)
        #expect(run.responses.map(\.body) == ["hello world"])
        let seventeenDigits = wire("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n10000000000000000\r\n")
        #expect(runResponseParser(seventeenDigits, feed: .whole, limits: limits).error?.kind == .invalidChunkSize)
    }

    @Test func headerLimitsApplyAsForRequests() {
        let limits = HTTPParserLimits(maxHeaderBytes: 64, maxHeaderCount: 2)
        let twoFields = wire("HTTP/1.1 200 OK\r\nA: 1\r\nContent-Length: 0\r\n\r\n")
        #expect(runResponseParser(twoFields, feed: .byteByByte, limits: limits).error == nil)
        let threeFields = wire("HTTP/1.1 200 OK\r\nA: 1\r\nB: 2\r\nC: 3\r\n\r\n")
        #expect(runResponseParser(threeFields, feed: .whole, limits: limits).error?.kind == .headersTooLarge)
        let longField = wire("HTTP/1.1 200 OK\r\nA: " + String(repeating: "a", count: 60) + "\r\n\r\n")
        #expect(runResponseParser(longField, feed: .byteByByte, limits: limits).error?.kind == .headersTooLarge)
    }
}
