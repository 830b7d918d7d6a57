import SluiceHTTP
import Testing

/// What a proxy forwards of a head: every field but the hop-by-hop ones, names compared in any case.
@Suite struct HTTPHeadersHopByHopTests {
    @Test func endToEndFieldsLeaveOutTheFixedHopByHopFieldsAndThoseConnectionNames() {
        let headers = HTTPHeaders([
            ("Host", "example.com"), ("connection", "Keep-Alive , x-trace,,close"), ("X-Trace", "1"),
            ("KEEP-ALIVE", "timeout=5"), ("Proxy-Connection", "keep-alive"), ("te", "trailers"), ("Trailer", "X"),
            ("Transfer-Encoding", "chunked"), ("Upgrade", "h2c"), ("Accept", "*/*"), ("x-trace", "2"),
            ("Close", "not named: close is an option"), ("Content-Length", "3"), ("Connection", " X-Padded "),
            ("x-padded", "a value given untrimmed is trimmed as a list element"),
        ])
        var kept: [String] = []
        headers.forEachEndToEndField { kept.append("\($0.name): \($0.value)") }
        #expect(
            kept == [
                "Host: example.com", "Accept: */*", "Close: not named: close is an option", "Content-Length: 3",
            ])
    }

    @Test func withoutConnectionOnlyTheFixedFieldsAreLeftOut() {
        let headers = HTTPHeaders([("Upgrade-Insecure-Requests", "1"), ("TE", "trailers"), ("Tea", "green")])
        var kept: [String] = []
        headers.forEachEndToEndField { kept.append($0.name) }
        #expect(kept == ["Upgrade-Insecure-Requests", "Tea"])
        #expect(headers.fieldLineBytes == "Upgrade-Insecure-Requests: 1\r\nTE: trailers\r\nTea: green\r\n".utf8.count)
    }

    @Test func fieldNamesCompareIgnoringCase() {
        let field = HTTPHeaders.Field(name: "x-Forwarded-FOR", value: "1")
        #expect(field.isNamed("X-Forwarded-For"))
        #expect(!field.isNamed("X-Forwarded-Fo"))
        #expect(!field.isNamed("X-Forwarded-Fox"))
    }
}
