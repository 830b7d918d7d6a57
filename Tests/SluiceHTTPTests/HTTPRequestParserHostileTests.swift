import Testing

@testable import SluiceHTTP

/// A request the parser must refuse, with the exact status and kind of the refusal.
struct HostileRequest: Sendable, CustomTestStringConvertible {
    var name: String
    var input: [UInt8]
    var status: Int
    var kind: HTTPParseError.Kind
    var limits: HTTPParserLimits

    var testDescription: String { name }

    init(
        _ name: String,
        _ status: Int,
        _ kind: HTTPParseError.Kind,
        limits: HTTPParserLimits = HTTPParserLimits(),
        _ input: String
    ) {
        self.name = name
        self.input = Array(input.utf8)
        self.status = status
        self.kind = kind
        self.limits = limits
    }
}

/// `GET / HTTP/1.1` with `Host: a` and the given extra field lines, each followed by CRLF.
private func get(_ fields: String...) -> String {
    "GET / HTTP/1.1\r\nHost: a\r\n" + fields.map { $0 + "\r\n" }.joined() + "\r\n"
}

/// A `POST /` with `Host: a`, the given extra field lines, then `body`.
private func post(_ fields: [String], body: String = "") -> String {
    "POST / HTTP/1.1\r\nHost: a\r\n" + fields.map { $0 + "\r\n" }.joined() + "\r\n" + body
}

private func chunked(_ body: String) -> String {
    post(["Transfer-Encoding: chunked"], body: body)
}

private let smallBody = HTTPParserLimits(maxBodyLength: 10)

let hostileRequests: [HostileRequest] = [
    // Request smuggling shapes.
    HostileRequest(
        "Content-Length with Transfer-Encoding", 400, .conflictingFraming,
        post(["Content-Length: 5", "Transfer-Encoding: chunked"], body: "0\r\n\r\n")
    ),
    HostileRequest(
        "Transfer-Encoding before Content-Length", 400, .conflictingFraming,
        post(["Transfer-Encoding: chunked", "Content-Length: 0"])
    ),
    HostileRequest(
        "TE chunked, identity", 400, .invalidTransferEncoding,
        post(["Transfer-Encoding: chunked, identity"])
    ),
    HostileRequest("TE identity", 400, .invalidTransferEncoding, post(["Transfer-Encoding: identity"])),
    HostileRequest("TE gzip alone", 400, .invalidTransferEncoding, post(["Transfer-Encoding: gzip"])),
    HostileRequest(
        "TE chunked twice", 400, .invalidTransferEncoding,
        post(["Transfer-Encoding: chunked", "Transfer-Encoding: chunked"])
    ),
    HostileRequest("TE empty", 400, .invalidTransferEncoding, post(["Transfer-Encoding: "])),
    HostileRequest("TE empty element", 400, .invalidTransferEncoding, post(["Transfer-Encoding: , chunked"])),
    HostileRequest(
        "TE chunked with parameter", 400, .invalidTransferEncoding,
        post(["Transfer-Encoding: chunked;q=1"])
    ),
    HostileRequest(
        "TE on HTTP/1.0", 400, .invalidTransferEncoding,
        "POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n"
    ),
    HostileRequest("TE gzip, chunked", 501, .unsupportedTransferCoding, post(["Transfer-Encoding: gzip, chunked"])),
    HostileRequest("space before colon", 400, .invalidFieldName, post(["Transfer-Encoding : chunked"])),
    HostileRequest("tab before colon", 400, .invalidFieldName, post(["Content-Length\t: 0"])),
    HostileRequest(
        "differing duplicate Content-Length", 400, .invalidContentLength,
        post(["Content-Length: 5", "Content-Length: 6"], body: "hello!")
    ),
    HostileRequest("Content-Length list 5, 6", 400, .invalidContentLength, post(["Content-Length: 5, 6"])),
    HostileRequest("Content-Length +5", 400, .invalidContentLength, post(["Content-Length: +5"], body: "hello")),
    HostileRequest("Content-Length -1", 400, .invalidContentLength, post(["Content-Length: -1"])),
    HostileRequest("Content-Length empty", 400, .invalidContentLength, post(["Content-Length: "])),
    HostileRequest("Content-Length hex", 400, .invalidContentLength, post(["Content-Length: 0x5"])),
    HostileRequest("Content-Length with inner space", 400, .invalidContentLength, post(["Content-Length: 1 0"])),
    HostileRequest("Content-Length trailing comma", 400, .invalidContentLength, post(["Content-Length: 5,"])),
    HostileRequest(
        "Content-Length overflow", 400, .invalidContentLength,
        post(["Content-Length: 9223372036854775808"])
    ),
    HostileRequest("bare LF ends the request line", 400, .invalidLineEnding, "GET / HTTP/1.1\nHost: a\r\n\r\n"),
    HostileRequest("bare LF ends a field line", 400, .invalidLineEnding, "GET / HTTP/1.1\r\nHost: a\nX: b\r\n\r\n"),
    HostileRequest("bare LF ends the head", 400, .invalidLineEnding, "GET / HTTP/1.1\r\nHost: a\r\n\n"),
    HostileRequest("bare LF ends a chunk size", 400, .invalidLineEnding, chunked("5\nhello\r\n0\r\n\r\n")),
    HostileRequest("bare LF before the request", 400, .invalidLineEnding, "\nGET / HTTP/1.1\r\nHost: a\r\n\r\n"),

    // Field syntax.
    HostileRequest("NUL in a value", 400, .invalidFieldValue, get("X-Key: ab\0cd")),
    HostileRequest("bare CR in a value", 400, .invalidFieldValue, get("X-Key: ab\rcd")),
    HostileRequest("DEL in a value", 400, .invalidFieldValue, get("X-Key: ab\u{7F}cd")),
    HostileRequest("escape in a value", 400, .invalidFieldValue, get("X-Key: \u{1B}[31m")),
    HostileRequest("obs-fold", 400, .obsoleteLineFolding, get("X-Long: part one", " part two")),
    HostileRequest("obs-fold with tab", 400, .obsoleteLineFolding, get("X-Long: part one", "\tpart two")),
    HostileRequest(
        "whitespace before the first field", 400, .obsoleteLineFolding,
        "GET / HTTP/1.1\r\n Host: a\r\n\r\n"
    ),
    HostileRequest("field without colon", 400, .invalidFieldName, get("NoColonHere")),
    HostileRequest("empty field name", 400, .invalidFieldName, get(": value")),
    HostileRequest("field name with slash", 400, .invalidFieldName, get("X/Y: 1")),

    // Host.
    HostileRequest("HTTP/1.1 without Host", 400, .invalidHost, "GET / HTTP/1.1\r\nAccept: */*\r\n\r\n"),
    HostileRequest("two Host fields", 400, .invalidHost, get("Host: b")),
    HostileRequest("two Host fields on HTTP/1.0", 400, .invalidHost, "GET / HTTP/1.0\r\nHost: a\r\nhost: b\r\n\r\n"),
    HostileRequest("Host with userinfo", 400, .invalidHost, "GET / HTTP/1.1\r\nHost: user@evil\r\n\r\n"),
    HostileRequest("Host with a path", 400, .invalidHost, "GET / HTTP/1.1\r\nHost: a/b\r\n\r\n"),
    HostileRequest("Host with a space", 400, .invalidHost, "GET / HTTP/1.1\r\nHost: a b\r\n\r\n"),
    HostileRequest("Host with letters in the port", 400, .invalidHost, "GET / HTTP/1.1\r\nHost: a:8o\r\n\r\n"),

    // Request line.
    HostileRequest("HTTP/2.0", 505, .unsupportedVersion, "GET / HTTP/2.0\r\nHost: a\r\n\r\n"),
    HostileRequest("HTTP/1.2", 505, .unsupportedVersion, "GET / HTTP/1.2\r\nHost: a\r\n\r\n"),
    HostileRequest("HTTP/0.9 spelled out", 505, .unsupportedVersion, "GET / HTTP/0.9\r\n\r\n"),
    HostileRequest("HTTP/1.1x", 400, .invalidVersion, "GET / HTTP/1.1x\r\nHost: a\r\n\r\n"),
    HostileRequest("HTTP/11", 400, .invalidVersion, "GET / HTTP/11\r\nHost: a\r\n\r\n"),
    HostileRequest("lowercase http", 400, .invalidVersion, "GET / http/1.1\r\nHost: a\r\n\r\n"),
    HostileRequest("space after the version", 400, .invalidVersion, "GET / HTTP/1.1 \r\nHost: a\r\n\r\n"),
    HostileRequest("space inside the target", 400, .invalidTarget, "GET /a b HTTP/1.1\r\nHost: a\r\n\r\n"),
    HostileRequest("HTTP/0.9 style", 400, .invalidRequestLine, "GET /\r\n\r\n"),
    HostileRequest("two spaces after the method", 400, .invalidTarget, "GET  / HTTP/1.1\r\nHost: a\r\n\r\n"),
    HostileRequest("leading space", 400, .invalidMethod, " GET / HTTP/1.1\r\nHost: a\r\n\r\n"),
    HostileRequest("method with a separator", 400, .invalidMethod, "GE(T / HTTP/1.1\r\nHost: a\r\n\r\n"),
    HostileRequest("tab as separator", 400, .invalidRequestLine, "GET\t/ HTTP/1.1\r\nHost: a\r\n\r\n"),
    HostileRequest("control byte in the target", 400, .invalidTarget, "GET /a\u{01}b HTTP/1.1\r\nHost: a\r\n\r\n"),
    HostileRequest("non-ASCII in the target", 400, .invalidTarget, "GET /caf\u{E9} HTTP/1.1\r\nHost: a\r\n\r\n"),
    HostileRequest("fragment in the target", 400, .invalidTarget, "GET /a#b HTTP/1.1\r\nHost: a\r\n\r\n"),
    HostileRequest("asterisk with GET", 400, .invalidTarget, "GET * HTTP/1.1\r\nHost: a\r\n\r\n"),
    HostileRequest("authority-form with GET", 400, .invalidTarget, "GET example.com:443 HTTP/1.1\r\nHost: a\r\n\r\n"),
    HostileRequest("origin-form with CONNECT", 400, .invalidTarget, "CONNECT /x HTTP/1.1\r\nHost: a\r\n\r\n"),
    HostileRequest("CONNECT without a port", 400, .invalidTarget, "CONNECT example.com HTTP/1.1\r\nHost: a\r\n\r\n"),
    HostileRequest("absolute-form with userinfo", 400, .invalidTarget, "GET http://u@h/ HTTP/1.1\r\nHost: a\r\n\r\n"),
    HostileRequest("absolute-form without host", 400, .invalidTarget, "GET http:///x HTTP/1.1\r\nHost: a\r\n\r\n"),
    HostileRequest("too many empty lines first", 400, .tooManyEmptyLines, String(repeating: "\r\n", count: 9) + get()),

    // Limits.
    HostileRequest(
        "request line too long, never ended", 414, .requestLineTooLong,
        "GET /" + String(repeating: "a", count: 9000)
    ),
    HostileRequest(
        "request line too long", 414, .requestLineTooLong,
        "GET /" + String(repeating: "a", count: 8179) + " HTTP/1.1\r\n\r\n"
    ),
    HostileRequest(
        "header section too large, never ended", 431, .headersTooLarge,
        "GET / HTTP/1.1\r\nHost: a\r\nX-Big: " + String(repeating: "b", count: 40_000)
    ),
    HostileRequest(
        "header section too large over many fields", 431, .headersTooLarge,
        "GET / HTTP/1.1\r\nHost: a\r\n"
            + String(repeating: "X-Filler: " + String(repeating: "f", count: 990) + "\r\n", count: 40)
    ),
    HostileRequest(
        "too many header fields", 431, .headersTooLarge,
        "GET / HTTP/1.1\r\nHost: a\r\n" + (1...100).map { "X-\($0): v\r\n" }.joined() + "\r\n"
    ),
    HostileRequest("Content-Length above the limit", 413, .bodyTooLarge, post(["Content-Length: 10485761"])),
    HostileRequest("Content-Length of Int64.max", 413, .bodyTooLarge, post(["Content-Length: 9223372036854775807"])),
    HostileRequest(
        "chunked body above the limit", 413, .bodyTooLarge, limits: smallBody,
        chunked("8\r\n12345678\r\n8\r\n12345678\r\n0\r\n\r\n")
    ),
    HostileRequest("one chunk above the limit", 413, .bodyTooLarge, limits: smallBody, chunked("B\r\n")),
    HostileRequest(
        "trailer section too large", 431, .headersTooLarge,
        chunked("0\r\nX-T: " + String(repeating: "t", count: 40_000))
    ),

    // Chunked framing.
    HostileRequest("chunk size zz", 400, .invalidChunkSize, chunked("zz\r\nhello\r\n0\r\n\r\n")),
    HostileRequest(
        "chunk size with 20 hex digits", 400, .invalidChunkSize,
        chunked("00000000000000000005\r\nhello\r\n0\r\n\r\n")
    ),
    HostileRequest("chunk size that overflows", 400, .invalidChunkSize, chunked("FFFFFFFFFFFFFFFF\r\n")),
    HostileRequest("empty chunk size", 400, .invalidChunkSize, chunked("\r\nhello\r\n0\r\n\r\n")),
    HostileRequest("negative chunk size", 400, .invalidChunkSize, chunked("-5\r\nhello\r\n0\r\n\r\n")),
    HostileRequest("chunk size 0x5", 400, .invalidChunkExtension, chunked("0x5\r\nhello\r\n0\r\n\r\n")),
    HostileRequest("space after chunk size", 400, .invalidChunkExtension, chunked("5 \r\nhello\r\n0\r\n\r\n")),
    HostileRequest("chunk extension without name", 400, .invalidChunkExtension, chunked("5;=x\r\nhello\r\n0\r\n\r\n")),
    HostileRequest(
        "chunk extension with open quote", 400, .invalidChunkExtension,
        chunked("5;a=\"x\r\nhello\r\n0\r\n\r\n")
    ),
    HostileRequest(
        "chunk extension too long", 400, .invalidChunkExtension,
        chunked("5;a=" + String(repeating: "x", count: 1100) + "\r\n")
    ),
    HostileRequest(
        "chunk data longer than its size", 400, .invalidChunkTerminator,
        chunked("5\r\nhello!\r\n0\r\n\r\n")
    ),
    HostileRequest("chunk data without CRLF", 400, .invalidChunkTerminator, chunked("5\r\nhello0\r\n\r\n")),
    HostileRequest("chunk data followed by CR only", 400, .invalidChunkTerminator, chunked("5\r\nhello\rX")),
    HostileRequest("obs-fold in a trailer", 400, .obsoleteLineFolding, chunked("0\r\nX-T: a\r\n b\r\n\r\n")),
    HostileRequest("NUL in a trailer", 400, .invalidFieldValue, chunked("0\r\nX-T: a\0b\r\n\r\n")),
]

@Suite struct HTTPRequestParserHostileTests {
    @Test(arguments: hostileRequests)
    func isRefusedWithTheExactStatus(request: HostileRequest) {
        for feed in [ParserFeed.whole, .byteByByte, .randomSlices(seed: 3, maxSize: 11)] {
            let run = runParser(request.input, feed: feed, limits: request.limits)
            #expect(run.error?.status == request.status, "fed \(feed.testDescription): \(run.error?.description ?? "")")
            #expect(run.error?.kind == request.kind, "fed \(feed.testDescription): \(run.error?.description ?? "")")
        }
    }

    @Test func obsTextInValuesIsAccepted() throws {
        let input =
            wire("GET / HTTP/1.1\r\nHost: a\r\nX-Name: caf") + [0xC3, 0xA9] + wire("\r\nX-Latin: caf")
            + [0xE9] + wire("\r\n\r\n")
        let run = runParser(input, feed: .byteByByte)
        #expect(run.error == nil)
        let head = try #require(run.heads.first)
        #expect(head.headers.first(name: "x-name") == "caf\u{E9}")
        #expect(head.headers.first(name: "x-latin")?.unicodeScalars.map(\.value) == [0x63, 0x61, 0x66, 0xE9])
        #expect(head.headers.map(\.valueIsLatin1) == [false, false, true])
        var written: [UInt8] = []
        for field in head.headers { written.appendFieldLine(field) }
        #expect(
            written == input.dropFirst("GET / HTTP/1.1\r\n".utf8.count).dropLast(2), "each value's bytes as received")
        // A flagged value changed to hold a character past U+00FF goes out as UTF-8: U+010A cut to a byte is LF.
        var changed: [UInt8] = []
        changed.appendFieldLine(HTTPHeaders.Field(name: "X", value: "a\u{10A}b", valueIsLatin1: true))
        #expect(changed == Array("X: a\u{10A}b\r\n".utf8))
    }

    @Test func errorsNameTheInput() {
        let run = runParser(wire(post(["Transfer-Encoding : chunked"])), feed: .whole)
        #expect(run.error?.description == #"400 invalidFieldName: field name "Transfer-Encoding " is not a token"#)
        let binary = runParser(wire(get("X: a\u{01}")), feed: .whole)
        #expect(binary.error?.detail.contains(#""\x01""#) == true)
    }
}
