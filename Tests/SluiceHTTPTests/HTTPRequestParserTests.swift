import Testing

@testable import SluiceHTTP

/// Parses one complete head from `text` in one piece.
private func parseHead(_ text: String) throws -> HTTPRequestHead {
    let run = runParser(wire(text), feed: .whole)
    if let error = run.error {
        throw error
    }
    return try #require(run.heads.first)
}

@Suite struct HTTPRequestParserTests {
    @Test func parsesTheRequestLineAndFields() throws {
        let head = try parseHead(
            "GET /api/v1/items?page=2&x=%20 HTTP/1.1\r\nHost: api.example.com:8080\r\nX-API-Key:k-1\r\n"
                + "Accept: text/html\r\naccept:\t application/json \t\r\nX-Empty:\r\n\r\n"
        )
        #expect(head.method == "GET")
        #expect(head.target == "/api/v1/items?page=2&x=%20")
        #expect(head.path == "/api/v1/items")
        #expect(head.version == .http1_1)
        #expect(head.host == "api.example.com:8080")
        #expect(head.bodyFraming == .none)
        #expect(!head.expectsContinue)
        #expect(head.headers.map(\.name) == ["Host", "X-API-Key", "Accept", "accept", "X-Empty"])
        #expect(head.headers.first(name: "x-api-key") == "k-1")
        #expect(head.headers.all(name: "ACCEPT") == ["text/html", "application/json"])
        #expect(head.headers.first(name: "X-Empty") == "")
        #expect(head.headers.contains(name: "x-empty"))
        #expect(!head.headers.contains(name: "Cookie"))
        #expect(head.headers.first(name: "Cookie") == nil)
    }

    @Test func methodsAreTokensAsSent() throws {
        #expect(try parseHead("PURGE /x HTTP/1.1\r\nHost: a\r\n\r\n").method == "PURGE")
        #expect(try parseHead("get /x HTTP/1.1\r\nHost: a\r\n\r\n").method == "get")
    }

    @Test func absoluteFormTargetNamesTheHost() throws {
        let head = try parseHead("GET http://Example.com:8080/p/q?x=1 HTTP/1.1\r\nHost: other\r\n\r\n")
        #expect(head.path == "/p/q")
        #expect(head.host == "Example.com:8080")
        let bare = try parseHead("GET https://example.com?x HTTP/1.1\r\nHost: example.com\r\n\r\n")
        #expect(bare.path == "/")
        #expect(bare.host == "example.com")
    }

    @Test func asteriskAndAuthorityForms() throws {
        let options = try parseHead("OPTIONS * HTTP/1.1\r\nHost: a\r\n\r\n")
        #expect(options.path == "*")
        let connect = try parseHead("CONNECT [::1]:443 HTTP/1.1\r\nHost: [::1]:443\r\n\r\n")
        #expect(connect.path == "[::1]:443")
        #expect(connect.host == "[::1]:443")
    }

    @Test func hostIsOptionalInHTTP10AndMayBeEmpty() throws {
        let old = try parseHead("GET / HTTP/1.0\r\n\r\n")
        #expect(old.version == .http1_0)
        #expect(old.host == nil)
        #expect(try parseHead("GET / HTTP/1.1\r\nHost:\r\n\r\n").host == nil)
        #expect(try parseHead("GET / HTTP/1.1\r\nhost: 10.0.0.1\r\n\r\n").host == "10.0.0.1")
    }

    @Test(arguments: [
        ("GET / HTTP/1.1\r\nHost: a\r\n\r\n", true),
        ("GET / HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n", false),
        ("GET / HTTP/1.1\r\nHost: a\r\nConnection: Upgrade, CLOSE\r\n\r\n", false),
        ("GET / HTTP/1.1\r\nHost: a\r\nConnection: keep-alive\r\nConnection: Close\r\n\r\n", false),
        ("GET / HTTP/1.1\r\nHost: a\r\nConnection: closed\r\n\r\n", true),
        ("GET / HTTP/1.1\r\nHost: a\r\nConnection: keep-alive\r\n\r\n", true),
        ("GET / HTTP/1.0\r\n\r\n", false),
        ("GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n", true),
        ("GET / HTTP/1.0\r\nConnection: TE,Keep-Alive\r\n\r\n", true),
        ("GET / HTTP/1.0\r\nConnection:  upgrade ,\tKEEP-ALIVE \r\n\r\n", true),
        ("GET / HTTP/1.0\r\nConnection: keep-alive, close\r\n\r\n", false),
        ("GET / HTTP/1.0\r\nConnection: keep-alive-ish\r\n\r\n", false),
    ])
    func keepAlive(request: String, expected: Bool) throws {
        #expect(try parseHead(request).keepAlive == expected)
    }

    @Test func expectContinueIsAFlag() throws {
        let waiting = try parseHead(
            "PUT /f HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\nExpect: 100-Continue\r\n\r\n"
        )
        #expect(waiting.expectsContinue)
        #expect(waiting.bodyFraming == .contentLength(3))
        #expect(
            !(try parseHead("PUT /f HTTP/1.0\r\nContent-Length: 3\r\nExpect: 100-continue\r\n\r\n").expectsContinue))
        #expect(!(try parseHead("PUT /f HTTP/1.1\r\nHost: a\r\nExpect: something\r\n\r\n").expectsContinue))
    }

    @Test func contentLengthRepeatsAreAcceptedWhenEqual() throws {
        #expect(try parseHead(post("Content-Length: 5, 5")).bodyFraming == .contentLength(5))
        #expect(try parseHead(post("Content-Length: 5", "content-length: 05")).bodyFraming == .contentLength(5))
        #expect(try parseHead(post("Content-Length:\t7 ")).bodyFraming == .contentLength(7))
    }

    @Test func transferEncodingIsCaseInsensitive() throws {
        #expect(try parseHead(post("Transfer-Encoding: Chunked")).bodyFraming == .chunked)
        #expect(try parseHead(post("transfer-encoding:  CHUNKED ")).bodyFraming == .chunked)
    }

    @Test func leadingEmptyLinesAreSkipped() throws {
        let head = try parseHead("\r\n\r\nGET /x HTTP/1.1\r\nHost: a\r\n\r\n")
        #expect(head.path == "/x")
    }

    @Test func limitsAreExactAtTheEdge() throws {
        let limits = HTTPParserLimits(maxRequestLineLength: 16, maxHeaderBytes: 20, maxHeaderCount: 2)
        let line = "GET /1234 HTTP/1.1"  // 18 bytes
        #expect(runParser(wire(line + "\r\n"), feed: .byteByByte, limits: limits).error?.status == 414)
        let fits = HTTPParserLimits(maxRequestLineLength: 18, maxHeaderBytes: 20, maxHeaderCount: 2)
        // Header section: "Host: a\r\n" (9) + "X-B: 1234\r\n" (11) = 20, plus the final CRLF: 22.
        let request = wire(line + "\r\nHost: a\r\nX-B: 1234\r\n\r\n")
        #expect(runParser(request, feed: .byteByByte, limits: fits).error?.status == 431)
        let roomy = HTTPParserLimits(maxRequestLineLength: 18, maxHeaderBytes: 22, maxHeaderCount: 2)
        #expect(runParser(request, feed: .byteByByte, limits: roomy).error == nil)
        let fewer = HTTPParserLimits(maxRequestLineLength: 18, maxHeaderBytes: 22, maxHeaderCount: 1)
        #expect(runParser(request, feed: .byteByByte, limits: fewer).error?.status == 431)
    }

    @Test func bodyLimitIsInclusive() {
        let limits = HTTPParserLimits(maxBodyLength: 5)
        let exact = runParser(wire(post("Content-Length: 5") + "hello"), feed: .whole, limits: limits)
        #expect(exact.error == nil)
        #expect(exact.bodies == ["hello"])
        let chunkedExact = runParser(
            wire(post("Transfer-Encoding: chunked") + "3\r\nhel\r\n2\r\nlo\r\n0\r\n\r\n"),
            feed: .byteByByte,
            limits: limits
        )
        #expect(chunkedExact.error == nil)
        #expect(chunkedExact.bodies == ["hello"])
        let unlimited = HTTPParserLimits(maxBodyLength: .max)
        let huge = runParser(wire(post("Content-Length: 9223372036854775807")), feed: .whole, limits: unlimited)
        #expect(huge.error == nil)
        #expect(huge.heads.first?.bodyFraming == .contentLength(.max))
    }

    @Test func lineFeedSearchFindsTheFirstAtEveryAlignment() {
        for length in 1..<40 {
            for position in 0..<length {
                var bytes = (0..<length).map { UInt8(truncatingIfNeeded: $0 &* 37 &+ 11) }
                for index in bytes.indices where bytes[index] == HTTPSyntax.lf { bytes[index] = 0x8A }
                bytes[position] = HTTPSyntax.lf
                if position + 3 < length { bytes[position + 3] = HTTPSyntax.lf }
                bytes.withUnsafeBytes { buffer in
                    for lower in 0...position {
                        #expect(HTTPSyntax.firstLineFeed(in: buffer, lower..<length) == position)
                        #expect(HTTPSyntax.firstLineFeed(in: buffer, lower..<position) == nil)
                    }
                }
            }
        }
    }

    @Test func headersBuildAndDescribe() {
        var headers = HTTPHeaders([("Host", "a")])
        headers.append(name: "X-Id", value: "1")
        #expect(headers.count == 2)
        #expect(headers[1] == HTTPHeaders.Field(name: "X-Id", value: "1"))
        #expect(headers.description == "Host: a\nX-Id: 1")
        #expect(headers == HTTPHeaders([("Host", "a"), ("X-Id", "1")]))
        #expect(HTTPVersion.http1_0.description == "HTTP/1.0")
    }
}

/// A `POST /` with `Host: a` and the given extra field lines, head only.
private func post(_ fields: String...) -> String {
    "POST / HTTP/1.1\r\nHost: a\r\n" + fields.map { $0 + "\r\n" }.joined() + "\r\n"
}
