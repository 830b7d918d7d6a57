import Testing

@testable import SluiceHTTP

/// A response the parser must refuse (every refusal is a 502), with the exact kind of the refusal.
struct HostileResponse: Sendable, CustomTestStringConvertible {
    var name: String
    var input: [UInt8]
    var kind: HTTPParseError.Kind
    var closeAtEnd: Bool
    var limits: HTTPParserLimits

    var testDescription: String { name }

    init(
        _ name: String,
        _ kind: HTTPParseError.Kind,
        closeAtEnd: Bool = false,
        limits: HTTPParserLimits = HTTPParserLimits(),
        _ input: String
    ) {
        self.name = name
        self.input = Array(input.utf8)
        self.kind = kind
        self.closeAtEnd = closeAtEnd
        self.limits = limits
    }
}

/// `HTTP/1.1 200 OK` with the given field lines, each followed by CRLF, then `body`.
private func ok(_ fields: [String], body: String = "") -> String {
    "HTTP/1.1 200 OK\r\n" + fields.map { $0 + "\r\n" }.joined() + "\r\n" + body
}

private func chunked(_ body: String) -> String {
    ok(["Transfer-Encoding: chunked"], body: body)
}

let hostileResponses: [HostileResponse] = [
    // Status line.
    HostileResponse("status line without spaces", .invalidStatusLine, "HTTP/1.1\r\n\r\n"),
    HostileResponse("not HTTP at all", .invalidStatusLine, "<html>\r\n"),
    HostileResponse("status line too long", .invalidStatusLine, "HTTP/1.1 200 " + String(repeating: "r", count: 9000)),
    HostileResponse("control byte in the reason", .invalidStatusLine, "HTTP/1.1 200 O\u{01}K\r\n\r\n"),
    HostileResponse("NUL in the reason", .invalidStatusLine, "HTTP/1.1 200 OK\0\r\n\r\n"),
    HostileResponse("status code with a letter", .invalidStatusCode, "HTTP/1.1 2O0 OK\r\n\r\n"),
    HostileResponse("two-digit status code", .invalidStatusCode, "HTTP/1.1 99 Old\r\n\r\n"),
    HostileResponse("status code below 100", .invalidStatusCode, "HTTP/1.1 099 Old\r\n\r\n"),
    HostileResponse("status code above 599", .invalidStatusCode, "HTTP/1.1 600 New\r\n\r\n"),
    HostileResponse("four-digit status code", .invalidStatusCode, "HTTP/1.1 2000 OK\r\n\r\n"),
    HostileResponse("reason glued to the code", .invalidStatusCode, "HTTP/1.1 200OK\r\n\r\n"),
    HostileResponse("empty status code", .invalidStatusCode, "HTTP/1.1  OK\r\n\r\n"),
    HostileResponse("negative status code", .invalidStatusCode, "HTTP/1.1 -20 OK\r\n\r\n"),
    HostileResponse("HTTP/2.0", .unsupportedVersion, "HTTP/2.0 200 OK\r\n\r\n"),
    HostileResponse("HTTP/0.9 spelled out", .unsupportedVersion, "HTTP/0.9 200 OK\r\n\r\n"),
    HostileResponse("lowercase http", .invalidVersion, "http/1.1 200 OK\r\n\r\n"),
    HostileResponse("leading space", .invalidVersion, " HTTP/1.1 200 OK\r\n\r\n"),
    HostileResponse("too many empty lines first", .tooManyEmptyLines, String(repeating: "\r\n", count: 9) + ok([])),
    HostileResponse("bare LF ends the status line", .invalidLineEnding, "HTTP/1.1 200 OK\nContent-Length: 0\r\n\r\n"),

    // Fields.
    HostileResponse("bare LF ends a field line", .invalidLineEnding, "HTTP/1.1 200 OK\r\nX: a\nY: b\r\n\r\n"),
    HostileResponse("bare LF ends the head", .invalidLineEnding, "HTTP/1.1 204 No Content\r\nX: a\r\n\n"),
    HostileResponse("NUL in a value", .invalidFieldValue, ok(["X-Key: ab\0cd"])),
    HostileResponse("bare CR in a value", .invalidFieldValue, ok(["X-Key: ab\rcd"])),
    HostileResponse("obs-fold", .obsoleteLineFolding, ok(["X-Long: part one", " part two"])),
    HostileResponse("whitespace before the first field", .obsoleteLineFolding, "HTTP/1.1 200 OK\r\n X: a\r\n\r\n"),
    HostileResponse("space before colon", .invalidFieldName, ok(["Content-Length : 0"])),
    HostileResponse("field without colon", .invalidFieldName, ok(["NoColonHere"])),

    // Framing.
    HostileResponse(
        "differing duplicate Content-Length", .invalidContentLength,
        ok(["Content-Length: 5", "Content-Length: 6"], body: "hello!")
    ),
    HostileResponse("Content-Length list 5, 6", .invalidContentLength, ok(["Content-Length: 5, 6"])),
    HostileResponse("Content-Length -1", .invalidContentLength, ok(["Content-Length: -1"])),
    HostileResponse("Content-Length hex", .invalidContentLength, ok(["Content-Length: 0x5"])),
    HostileResponse("Content-Length overflow", .invalidContentLength, ok(["Content-Length: 9223372036854775808"])),
    HostileResponse(
        "differing Content-Length on a 304", .invalidContentLength,
        "HTTP/1.1 304 Not Modified\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\n"
    ),
    HostileResponse("TE gzip alone", .invalidTransferEncoding, ok(["Transfer-Encoding: gzip"])),
    HostileResponse("TE chunked, identity", .invalidTransferEncoding, ok(["Transfer-Encoding: chunked, identity"])),
    HostileResponse(
        "TE chunked twice", .invalidTransferEncoding,
        ok(["Transfer-Encoding: chunked", "Transfer-Encoding: chunked"])
    ),
    HostileResponse("TE empty element", .invalidTransferEncoding, ok(["Transfer-Encoding: , chunked"])),
    HostileResponse(
        "TE on HTTP/1.0", .invalidTransferEncoding,
        "HTTP/1.0 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n"
    ),
    HostileResponse("TE gzip, chunked", .unsupportedTransferCoding, ok(["Transfer-Encoding: gzip, chunked"])),

    // Chunked body.
    HostileResponse("chunk size zz", .invalidChunkSize, chunked("zz\r\nhello\r\n0\r\n\r\n")),
    HostileResponse("empty chunk size", .invalidChunkSize, chunked("\r\nhello\r\n0\r\n\r\n")),
    HostileResponse("negative chunk size", .invalidChunkSize, chunked("-5\r\nhello\r\n0\r\n\r\n")),
    HostileResponse("chunk size that overflows", .invalidChunkSize, chunked("FFFFFFFFFFFFFFFF\r\n")),
    HostileResponse("chunk size with 17 hex digits", .invalidChunkSize, chunked("00000000000000005\r\nhello\r\n")),
    HostileResponse("space after chunk size", .invalidChunkExtension, chunked("5 \r\nhello\r\n0\r\n\r\n")),
    HostileResponse("chunk data longer than its size", .invalidChunkTerminator, chunked("5\r\nhello!\r\n0\r\n\r\n")),
    HostileResponse("NUL in a trailer", .invalidFieldValue, chunked("0\r\nX-T: a\0b\r\n\r\n")),

    // Limits.
    HostileResponse(
        "header section too large, never ended", .headersTooLarge,
        "HTTP/1.1 200 OK\r\nX-Big: " + String(repeating: "b", count: 40_000)
    ),
    HostileResponse(
        "too many header fields", .headersTooLarge,
        "HTTP/1.1 200 OK\r\n" + (1...101).map { "X-\($0): v\r\n" }.joined() + "\r\n"
    ),
    HostileResponse(
        "trailer section too large", .headersTooLarge,
        chunked("0\r\nX-T: " + String(repeating: "t", count: 40_000))
    ),

    // Closed before the end.
    HostileResponse("closed in the status line", .incompleteResponse, closeAtEnd: true, "HTTP/1.1 200"),
    HostileResponse(
        "closed in the header section", .incompleteResponse, closeAtEnd: true, "HTTP/1.1 200 OK\r\nX: 1\r\n"),
    HostileResponse(
        "closed mid-body", .incompleteResponse, closeAtEnd: true,
        ok(["Content-Length: 10"], body: "abc")
    ),
    HostileResponse("closed mid-chunk", .incompleteResponse, closeAtEnd: true, chunked("5\r\nhel")),
    HostileResponse("closed before the last chunk", .incompleteResponse, closeAtEnd: true, chunked("5\r\nhello\r\n")),
    HostileResponse("closed in the trailer section", .incompleteResponse, closeAtEnd: true, chunked("0\r\nX-T: 1\r\n")),
    HostileResponse(
        "closed after 100 Continue", .incompleteResponse, closeAtEnd: true,
        "HTTP/1.1 100 Continue\r\n\r\n"
    ),
]

@Suite struct HTTPResponseParserHostileTests {
    @Test(arguments: hostileResponses)
    func isRefusedAs502(response: HostileResponse) {
        for feed in [ParserFeed.whole, .byteByByte, .randomSlices(seed: 3, maxSize: 11)] {
            let run = runResponseParser(
                response.input,
                feed: feed,
                closeAtEnd: response.closeAtEnd,
                limits: response.limits
            )
            let error = run.error
            #expect(error?.kind == response.kind, "fed \(feed.testDescription): \(error?.description ?? "no error")")
            #expect(error?.status == 502, "fed \(feed.testDescription)")
            #expect(error?.inResponse == true, "fed \(feed.testDescription)")
        }
    }

    @Test func errorsNameTheInputAndTheProblem() {
        let code = runResponseParser(wire("HTTP/1.1 2OO OK\r\n\r\n"), feed: .whole)
        #expect(
            code.error?.description == #"502 invalidStatusCode: status code "2OO" is not three digits from 100 to 599"#)
        let cut = runResponseParser(wire(ok(["Content-Length: 10"], body: "abc")), feed: .whole, closeAtEnd: true)
        #expect(
            cut.error?.description
                == "502 incompleteResponse: the upstream closed the connection with 7 bytes of the Content-Length "
                + "body still to come"
        )
        let interim = runResponseParser(wire("HTTP/1.1 103 Early Hints\r\n\r\n"), feed: .whole, closeAtEnd: true)
        #expect(interim.error?.detail.contains("after interim response 103") == true)
    }

    @Test func requestErrorsKeepTheirStatus() {
        let error = HTTPParseError(kind: .invalidFieldValue, detail: "x")
        #expect(!error.inResponse)
        #expect(error.status == 400)
        #expect(HTTPParseError(kind: .invalidFieldValue, detail: "x", inResponse: true).status == 502)
    }
}
