import Testing

@testable import SluiceHTTP

@Suite struct HTTPResponseWriteTests {
    private func written(
        _ response: HTTPResponse, keepAlive: Bool = true, isHead: Bool = false, extra: HTTPFieldLines = []
    ) -> String {
        var bytes: [UInt8] = []
        response.write(into: &bytes, keepAlive: keepAlive, isHead: isHead, extraHeaders: extra)
        return String(decoding: bytes, as: UTF8.self)
    }

    @Test func aResponseIsWrittenWithItsFieldsThenTheExtraOnesThenItsLength() {
        var extra = HTTPFieldLines()
        extra.append(name: "X-RateLimit-Remaining", value: 9)
        let response = HTTPResponse(status: 429, headers: [("Content-Type", "text/plain")], body: Array("slow".utf8))
        #expect(
            written(response, extra: extra)
                == "HTTP/1.1 429 Too Many Requests\r\nContent-Type: text/plain\r\nX-RateLimit-Remaining: 9\r\n"
                + "Content-Length: 4\r\n\r\nslow")
        #expect(
            written(response, keepAlive: false, isHead: true)
                == "HTTP/1.1 429 Too Many Requests\r\nContent-Type: text/plain\r\nContent-Length: 4\r\n"
                + "Connection: close\r\n\r\n")
    }

    /// A 204 or 304 answer has neither a body nor a length, whatever body it was given (RFC 9110
    /// §6.4.1): a body would be read as the start of the next answer on the connection.
    @Test(arguments: [204, 304])
    func aBodilessStatusIsWrittenWithoutBodyOrLength(status: Int) {
        let response = HTTPResponse(status: status, headers: [], body: Array("OK\n".utf8))
        #expect(written(response) == "HTTP/1.1 \(status) \(HTTPStatus.reason(status))\r\n\r\n")
    }

    /// An HTTP/1.0 client keeps a connection only when the answer says so.
    @Test func anHTTP10ClientIsToldTheConnectionStaysOpen() {
        var bytes: [UInt8] = []
        HTTPResponse.text(200, "ok").write(
            into: &bytes, keepAlive: true, isHead: false, extraHeaders: [], announceKeepAlive: true)
        #expect(String(decoding: bytes, as: UTF8.self).contains("\r\nConnection: keep-alive\r\n"))
        bytes.removeAll()
        HTTPResponse.text(200, "ok").write(
            into: &bytes, keepAlive: false, isHead: false, extraHeaders: [], announceKeepAlive: true)
        #expect(!String(decoding: bytes, as: UTF8.self).contains("keep-alive"))
    }

    @Test(arguments: [
        (100, "HTTP/1.1 100 Continue"), (599, "HTTP/1.1 599 Unknown"), (99, "HTTP/1.1 99 Unknown"),
        (700, "HTTP/1.1 700 Unknown"), (200, "HTTP/1.1 200 OK"),
    ])
    func everyStatusGetsItsStatusLine(_ status: Int, _ line: String) {
        let length = status < 200 ? "" : "Content-Length: 0\r\n"  // a 1xx answer has no body to measure
        #expect(written(HTTPResponse(status: status)) == line + "\r\n" + length + "\r\n")
    }

    @Test func fieldLinesKeepTheirFieldsInOrder() {
        var fields: HTTPFieldLines = [("Content-Type", "application/json"), ("X-Empty", "")]
        fields.append(name: "X-Count", value: -12)
        fields.append(contentsOf: HTTPFieldLines([("Via", "1.1 sluice: proxy")]))
        #expect(fields.pairs.map(\.0) == ["Content-Type", "X-Empty", "X-Count", "Via"])
        #expect(fields.pairs.map(\.1) == ["application/json", "", "-12", "1.1 sluice: proxy"])
        #expect(HTTPFieldLines().isEmpty && HTTPFieldLines().pairs.isEmpty)
    }

    @Test(arguments: [0, 7, 10, 99, 1_000_000_007, -1, Int64.max, Int64.min])
    func writtenFieldsMatchAppendedOnes(_ number: Int64) {
        let written = HTTPFieldLines(capacity: 96) { lines in
            lines.append(name: "X-Number", value: number)
            lines.append(name: "X-Text", value: "é \(number)")
        }
        var appended = HTTPFieldLines()
        appended.append(name: "X-Number", value: number)
        appended.append(name: "X-Text", value: "é \(number)")
        #expect(written == appended)
        #expect(written.pairs.map(\.1) == ["\(number)", "é \(number)"])
    }
}
