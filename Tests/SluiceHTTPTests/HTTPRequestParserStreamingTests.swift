import Testing

@testable import SluiceHTTP

/// A request stream and what it must parse into: per request, method, target and body.
struct ParserCorpusEntry: Sendable, CustomTestStringConvertible {
    var name: String
    var wire: String
    var requests: [(method: String, target: String, body: String)]

    var testDescription: String { name }
}

let parserCorpus: [ParserCorpusEntry] = [
    ParserCorpusEntry(
        name: "GET with several fields",
        wire: "GET /api/v1/items?page=2 HTTP/1.1\r\nHost: api.example.com\r\nUser-Agent: curl/8.5\r\n"
            + "Accept: */*\r\nX-API-Key: k-123\r\n\r\n",
        requests: [("GET", "/api/v1/items?page=2", "")]
    ),
    ParserCorpusEntry(
        name: "POST with Content-Length",
        wire: "POST /submit HTTP/1.1\r\nHost: a\r\nContent-Type: text/plain\r\nContent-Length: 26\r\n\r\n"
            + "abcdefghijklmnopqrstuvwxyz",
        requests: [("POST", "/submit", "abcdefghijklmnopqrstuvwxyz")]
    ),
    ParserCorpusEntry(
        name: "chunked with extensions and trailers",
        wire: "POST /upload HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n"
            + "5;name=value\r\nhello\r\n"
            + "1A ; a = \"q\\\"x;y\" ;b\r\nABCDEFGHIJKLMNOPQRSTUVWXYZ\r\n"
            + "1a\r\nabcdefghijklmnopqrstuvwxyz\r\n"
            + "0;last\r\nX-Checksum: abc\r\nX-Other:  t \r\n\r\n",
        requests: [("POST", "/upload", "helloABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz")]
    ),
    ParserCorpusEntry(
        name: "HTTP/1.0 without Host",
        wire: "GET /old HTTP/1.0\r\nUser-Agent: ancient\r\n\r\n",
        requests: [("GET", "/old", "")]
    ),
    ParserCorpusEntry(
        name: "three pipelined requests",
        wire: "GET /one HTTP/1.1\r\nHost: a\r\n\r\n"
            + "POST /two HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\n\r\nxyz"
            + "\r\n"  // a stray CRLF after a body, as old clients send: skipped
            + "PUT /three HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n4\r\nwxyz\r\n0\r\n\r\n",
        requests: [("GET", "/one", ""), ("POST", "/two", "xyz"), ("PUT", "/three", "wxyz")]
    ),
]

@Suite struct HTTPRequestParserStreamingTests {
    @Test(arguments: parserCorpus)
    func everyFeedingYieldsTheSameParts(entry: ParserCorpusEntry) {
        let whole = runParser(wire(entry.wire), feed: .whole)
        #expect(whole.error == nil)
        #expect(whole.heads.map(\.method) == entry.requests.map(\.method))
        #expect(whole.heads.map(\.target) == entry.requests.map(\.target))
        #expect(whole.bodies == entry.requests.map(\.body))
        #expect(whole.events.filter { $0 == .end }.count == entry.requests.count)
        #expect(whole.events.last == .end)
        var feeds = ParserFeed.all.dropFirst()
        feeds += (UInt64(1)...20).map { ParserFeed.randomSlices(seed: $0, maxSize: 1 + Int($0) * 3) }
        for feed in feeds {
            let run = runParser(wire(entry.wire), feed: feed)
            #expect(run.error == nil, "fed \(feed.testDescription)")
            #expect(run.events == whole.events, "fed \(feed.testDescription)")
        }
    }

    @Test func partsComeInOrderForEveryRequest() {
        let run = runParser(wire(parserCorpus[4].wire), feed: .byteByByte)
        let shape = run.events.map { event in
            switch event {
            case .head: "head"
            case .body: "body"
            case .end: "end"
            }
        }
        #expect(shape == ["head", "end", "head", "body", "end", "head", "body", "end"])
    }

    @Test func largeBodyStreamsInPiecesNoLargerThanEachRead() {
        let length = 5_000_000
        let body = (0..<length).map { UInt8(truncatingIfNeeded: $0 &* 31) }
        let input =
            wire("POST /big HTTP/1.1\r\nHost: a\r\nContent-Length: \(length)\r\n\r\n") + body
            + wire("GET /after HTTP/1.1\r\nHost: a\r\n\r\n")
        let limits = HTTPParserLimits(maxBodyLength: 8 * 1024 * 1024)
        let run = runParser(input, feed: .randomSlices(seed: 7, maxSize: 64 * 1024), limits: limits)
        #expect(run.error == nil)
        #expect(run.heads.map(\.path) == ["/big", "/after"])
        #expect(run.pieceSizes.reduce(0, +) == length)
        #expect(run.pieceSizes.count > 100)
        #expect(run.pieceSizes.max()! <= 64 * 1024)
        if case .body(let received) = run.events[1] {
            #expect(received == body)
        } else {
            Issue.record("expected the body after the head, got \(run.events[1])")
        }
    }

    @Test func largeChunkedBodyStreamsInPiecesNoLargerThanEachRead() {
        let chunk = [UInt8](repeating: UInt8(ascii: "z"), count: 1_000_000)
        var input = wire("POST /big HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n")
        for _ in 0..<5 {
            input += wire("F4240\r\n") + chunk + wire("\r\n")
        }
        input += wire("0\r\n\r\n")
        let limits = HTTPParserLimits(maxBodyLength: 5_000_000)
        let run = runParser(input, feed: .randomSlices(seed: 9, maxSize: 32 * 1024), limits: limits)
        #expect(run.error == nil)
        #expect(run.pieceSizes.reduce(0, +) == 5_000_000)
        #expect(run.pieceSizes.max()! <= 32 * 1024)
        #expect(run.events.last == .end)
    }

    @Test func bodyPieceIsWhatTheBufferHolds() throws {
        var parser = HTTPRequestParser()
        var offset = 0
        let head = wire("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 10\r\n\r\nabc")
        guard case .head = try parser.next(head, offset: &offset) else {
            Issue.record("expected a head")
            return
        }
        #expect(try parser.next(head, offset: &offset) == .body(wire("abc")))
        #expect(offset == head.count)
        #expect(try parser.next(head, offset: &offset) == nil)
        offset = 0
        let rest = wire("defghijGET")
        #expect(try parser.next(rest, offset: &offset) == .body(wire("defghij")))
        #expect(offset == 7)
        #expect(try parser.next(rest, offset: &offset) == .end)
        #expect(offset == 7)
        #expect(try parser.next(rest, offset: &offset) == nil)
        #expect(offset == rest.count)
    }

    @Test func incompleteLinesAreConsumedAndKept() throws {
        var parser = HTTPRequestParser()
        var offset = 0
        let first = wire("GET /pa")
        #expect(try parser.next(first, offset: &offset) == nil)
        #expect(offset == first.count)
        offset = 0
        let second = wire("th HTTP/1.1\r")
        #expect(try parser.next(second, offset: &offset) == nil)
        offset = 0
        let third = wire("\nHost: a\r\n\r\n")
        guard case .head(let head) = try parser.next(third, offset: &offset) else {
            Issue.record("expected a head")
            return
        }
        #expect(head.target == "/path")
        #expect(try parser.next(third, offset: &offset) == .end)
    }

    @Test func noFramingMeansNoBodyEvenWhenBytesFollow() throws {
        let run = runParser(wire("GET / HTTP/1.1\r\nHost: a\r\n\r\nPOST / HTTP/1.1\r\nHost: a\r\n\r\n"), feed: .whole)
        #expect(run.error == nil)
        #expect(run.heads.map(\.method) == ["GET", "POST"])
        #expect(run.bodies == ["", ""])
        #expect(run.heads.map(\.bodyFraming) == [.none, .none])
    }

    @Test func zeroContentLengthEndsRightAfterTheHead() {
        let run = runParser(wire("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 0\r\n\r\n"), feed: .whole)
        #expect(run.events.count == 2)
        #expect(run.heads.first?.bodyFraming == .contentLength(0))
        #expect(run.events.last == .end)
    }

    @Test func isBetweenRequestsTracksMessageBoundaries() throws {
        var parser = HTTPRequestParser()
        var offset = 0
        #expect(parser.isBetweenRequests)
        #expect(try parser.next(wire("\r\n"), offset: &offset) == nil)
        #expect(parser.isBetweenRequests)
        offset = 0
        #expect(try parser.next(wire("G"), offset: &offset) == nil)
        #expect(!parser.isBetweenRequests)
        offset = 0
        let rest = wire("ET / HTTP/1.1\r\nHost: a\r\nContent-Length: 1\r\n\r\nx")
        while let part = try parser.next(rest, offset: &offset) {
            #expect(parser.isBetweenRequests == (part == .end))
        }
        #expect(parser.isBetweenRequests)
    }

    @Test func anErrorIsFinal() {
        var parser = HTTPRequestParser()
        var offset = 0
        #expect(throws: HTTPParseError.self) { try parser.next(wire("GET / HTTP/9.9\r\n"), offset: &offset) }
        #expect(!parser.isBetweenRequests)
        offset = 0
        let error = #expect(throws: HTTPParseError.self) {
            try parser.next(wire("GET / HTTP/1.1\r\nHost: a\r\n\r\n"), offset: &offset)
        }
        #expect(error?.kind == .unsupportedVersion)
    }
}
