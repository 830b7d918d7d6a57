import Testing

@testable import SluiceRedis

/// One well-formed frame, its decoded value and the top-level attributes that precede it.
struct RESPCorpusFrame: Sendable, CustomTestStringConvertible {
    var wire: String
    var value: RESPValue
    var attributes: [RESPMapEntry]? = nil

    var testDescription: String { wire.debugDescription }
}

private func bulk(_ text: String) -> RESPValue {
    .bulkString(Array(text.utf8))
}

private func entry(_ key: RESPValue, _ value: RESPValue) -> RESPMapEntry {
    RESPMapEntry(key: key, value: value)
}

/// Every RESP3 type, RESP2 nulls, binary payloads, nesting and attributes; NaN is tested on its own because
/// it never compares equal.
let respCorpus: [RESPCorpusFrame] = [
    RESPCorpusFrame(wire: "+OK\r\n", value: .simpleString("OK")),
    RESPCorpusFrame(wire: "+\r\n", value: .simpleString("")),
    RESPCorpusFrame(wire: "-NOSCRIPT No matching script\r\n", value: .simpleError("NOSCRIPT No matching script")),
    RESPCorpusFrame(wire: ":0\r\n", value: .integer(0)),
    RESPCorpusFrame(wire: ":-42\r\n", value: .integer(-42)),
    RESPCorpusFrame(wire: ":9223372036854775807\r\n", value: .integer(.max)),
    RESPCorpusFrame(wire: ":-9223372036854775808\r\n", value: .integer(.min)),
    RESPCorpusFrame(wire: "$5\r\nhello\r\n", value: bulk("hello")),
    RESPCorpusFrame(wire: "$0\r\n\r\n", value: .bulkString([])),
    RESPCorpusFrame(wire: "$6\r\na\r\nb\r\n\r\n", value: bulk("a\r\nb\r\n")),
    RESPCorpusFrame(wire: "$-1\r\n", value: .null),
    RESPCorpusFrame(wire: "*-1\r\n", value: .null),
    RESPCorpusFrame(wire: "_\r\n", value: .null),
    RESPCorpusFrame(wire: "*0\r\n", value: .array([])),
    RESPCorpusFrame(
        wire: "*4\r\n:1\r\n$3\r\nfoo\r\n*1\r\n+x\r\n$-1\r\n",
        value: .array([.integer(1), bulk("foo"), .array([.simpleString("x")]), .null])
    ),
    RESPCorpusFrame(wire: ",1.23\r\n", value: .double(1.23)),
    RESPCorpusFrame(wire: ",-0.5\r\n", value: .double(-0.5)),
    RESPCorpusFrame(wire: ",10\r\n", value: .double(10)),
    RESPCorpusFrame(wire: ",1e10\r\n", value: .double(1e10)),
    RESPCorpusFrame(wire: ",-2.5E-3\r\n", value: .double(-2.5e-3)),
    RESPCorpusFrame(wire: ",inf\r\n", value: .double(.infinity)),
    RESPCorpusFrame(wire: ",-inf\r\n", value: .double(-.infinity)),
    RESPCorpusFrame(wire: "#t\r\n", value: .boolean(true)),
    RESPCorpusFrame(wire: "#f\r\n", value: .boolean(false)),
    RESPCorpusFrame(
        wire: "(3492890328409238509324850943850943825024385\r\n",
        value: .bigNumber("3492890328409238509324850943850943825024385")
    ),
    RESPCorpusFrame(wire: "(-12\r\n", value: .bigNumber("-12")),
    RESPCorpusFrame(wire: "!21\r\nSYNTAX invalid syntax\r\n", value: .bulkError("SYNTAX invalid syntax")),
    RESPCorpusFrame(wire: "=15\r\ntxt:Some string\r\n", value: .verbatimString(format: "txt", text: "Some string")),
    RESPCorpusFrame(wire: "=4\r\nmkd:\r\n", value: .verbatimString(format: "mkd", text: "")),
    RESPCorpusFrame(
        wire: "%2\r\n+first\r\n:1\r\n+second\r\n:2\r\n",
        value: .map([entry(.simpleString("first"), .integer(1)), entry(.simpleString("second"), .integer(2))])
    ),
    RESPCorpusFrame(wire: "%0\r\n", value: .map([])),
    RESPCorpusFrame(
        wire: "~3\r\n+orange\r\n+apple\r\n#t\r\n",
        value: .set([.simpleString("orange"), .simpleString("apple"), .boolean(true)])
    ),
    RESPCorpusFrame(
        wire: ">3\r\n$7\r\nmessage\r\n$4\r\nchan\r\n$5\r\nhello\r\n",
        value: .push([bulk("message"), bulk("chan"), bulk("hello")])
    ),
    RESPCorpusFrame(
        wire: "%2\r\n*2\r\n:1\r\n:2\r\n~1\r\n>1\r\n_\r\n$1\r\nk\r\n%1\r\n#f\r\n,2.5\r\n",
        value: .map([
            entry(.array([.integer(1), .integer(2)]), .set([.push([.null])])),
            entry(bulk("k"), .map([entry(.boolean(false), .double(2.5))])),
        ])
    ),
    RESPCorpusFrame(
        wire: "|1\r\n+key-popularity\r\n%2\r\n$1\r\na\r\n,0.1923\r\n$1\r\nb\r\n,0.0012\r\n"
            + "*2\r\n:2039123\r\n:9543892\r\n",
        value: .array([.integer(2_039_123), .integer(9_543_892)]),
        attributes: [
            entry(
                .simpleString("key-popularity"),
                .map([entry(bulk("a"), .double(0.1923)), entry(bulk("b"), .double(0.0012))])
            )
        ]
    ),
    RESPCorpusFrame(
        wire: "|1\r\n+a\r\n:1\r\n|1\r\n+b\r\n:2\r\n+OK\r\n",
        value: .simpleString("OK"),
        attributes: [entry(.simpleString("a"), .integer(1)), entry(.simpleString("b"), .integer(2))]
    ),
    // Attributes nested in an aggregate are validated, then dropped.
    RESPCorpusFrame(wire: "*2\r\n|1\r\n+ttl\r\n:3\r\n:1\r\n:2\r\n", value: .array([.integer(1), .integer(2)])),
]

/// Decodes `bytes[offset...]` with a fresh decoder.
private func decodeOnce(
    _ bytes: [UInt8],
    offset: inout Int,
    limits: RESPDecoderLimits = .default
) throws(RESPDecodingError) -> RESPValue? {
    var decoder = RESPDecoder(limits: limits)
    return try decoder.decode(bytes, offset: &offset)
}

/// The error thrown while decoding every frame in `bytes`, or nil when none was thrown.
private func decodingError(_ bytes: [UInt8], limits: RESPDecoderLimits = .default) -> RESPDecodingError? {
    var decoder = RESPDecoder(limits: limits)
    var offset = 0
    do {
        while try decoder.decode(bytes, offset: &offset) != nil {}
        return nil
    } catch {
        return error
    }
}

@Suite("RESPDecoder")
struct RESPDecoderTests {
    @Test("decodes each frame on its own", arguments: respCorpus)
    func decodesFrame(_ frame: RESPCorpusFrame) throws {
        let bytes = Array(frame.wire.utf8)
        var decoder = RESPDecoder()
        var offset = 0
        let value = try decoder.decode(bytes, offset: &offset)
        #expect(value == frame.value)
        #expect(offset == bytes.count)
        #expect(decoder.lastAttributes == frame.attributes)
    }

    @Test("decodes NaN")
    func decodesNaN() throws {
        for wire in [",nan\r\n", ",-nan\r\n"] {
            var offset = 0
            let value = try decodeOnce(Array(wire.utf8), offset: &offset)
            guard case .double(let number) = value else {
                Issue.record("expected a double for \(wire.debugDescription), got \(String(describing: value))")
                continue
            }
            #expect(number.isNaN)
        }
    }

    @Test("the corpus fed one byte at a time gives nil until each frame completes")
    func byteByByte() throws {
        var wire: [UInt8] = []
        var frameEnds: [Int] = []
        for frame in respCorpus {
            wire += Array(frame.wire.utf8)
            frameEnds.append(wire.count)
        }

        var decoder = RESPDecoder()
        var received: [UInt8] = []
        var offset = 0
        var decodedCount = 0
        for byte in wire {
            received.append(byte)
            let offsetBefore = offset
            let value = try decoder.decode(received, offset: &offset)
            let completes = decodedCount < frameEnds.count && received.count == frameEnds[decodedCount]
            guard completes else {
                #expect(value == nil, "unexpected value after \(received.count) bytes")
                #expect(offset == offsetBefore)
                continue
            }
            #expect(value == respCorpus[decodedCount].value)
            #expect(decoder.lastAttributes == respCorpus[decodedCount].attributes)
            #expect(offset == frameEnds[decodedCount])
            decodedCount += 1
        }
        #expect(decodedCount == respCorpus.count)
    }

    @Test("the corpus in one buffer decodes to the same values")
    func wholeCorpusAtOnce() throws {
        let wire = respCorpus.flatMap { Array($0.wire.utf8) }
        var decoder = RESPDecoder()
        var offset = 0
        var values: [RESPValue] = []
        var attributes: [[RESPMapEntry]?] = []
        while let value = try decoder.decode(wire, offset: &offset) {
            values.append(value)
            attributes.append(decoder.lastAttributes)
        }
        #expect(offset == wire.count)
        #expect(values == respCorpus.map(\.value))
        #expect(attributes == respCorpus.map(\.attributes))
    }

    @Test("10,000 integer frames in one buffer decode in order")
    func manyFrames() throws {
        var wire: [UInt8] = []
        for number in 0..<10_000 {
            wire += Array(":\(number)\r\n".utf8)
        }
        var decoder = RESPDecoder()
        var offset = 0
        var expected: Int64 = 0
        try wire.withUnsafeBytes { buffer in
            while let value = try decoder.decode(buffer, offset: &offset) {
                #expect(value == .integer(expected))
                expected += 1
            }
        }
        #expect(expected == 10_000)
        #expect(offset == wire.count)
    }

    @Test("decoding starts at the offset given, and attributes do not leak to the next value")
    func startsAtOffset() throws {
        let wire = Array("+skip\r\n|1\r\n+a\r\n+b\r\n:1\r\n:2\r\n".utf8)
        var decoder = RESPDecoder()
        var offset = 7
        #expect(try decoder.decode(wire, offset: &offset) == .integer(1))
        #expect(decoder.lastAttributes == [entry(.simpleString("a"), .simpleString("b"))])
        #expect(try decoder.decode(wire, offset: &offset) == .integer(2))
        #expect(decoder.lastAttributes == nil)
        #expect(offset == wire.count)
        #expect(try decoder.decode(wire, offset: &offset) == nil)
    }

    @Test("64 nested arrays are allowed by default, 65 are not")
    func depthBoundary() throws {
        var offset = 0
        let allowed = Array((String(repeating: "*1\r\n", count: 64) + ":7\r\n").utf8)
        var expected = RESPValue.integer(7)
        for _ in 0..<64 {
            expected = .array([expected])
        }
        #expect(try decodeOnce(allowed, offset: &offset) == expected)

        let tooDeep = Array((String(repeating: "*1\r\n", count: 65) + ":7\r\n").utf8)
        let error = decodingError(tooDeep)
        #expect(error?.code == .depthLimitExceeded)
        #expect(error?.offset == 64 * 4)
    }

    @Test("huge declared lengths need more bytes without allocating when the limits allow them")
    func hugeDeclaredLengths() throws {
        let unlimited = RESPDecoderLimits(maxBulkLength: .max, maxAggregateCount: .max)
        for wire in [
            "*2000000000\r\n", "%9223372036854775807\r\n", "~9223372036854775807\r\n:1\r\n",
            "$9223372036854775807\r\nabc", "=9223372036854775807\r\n",
        ] {
            var offset = 0
            #expect(try decodeOnce(Array(wire.utf8), offset: &offset, limits: unlimited) == nil, "\(wire)")
            #expect(offset == 0)
        }
    }

    @Test("a malformed line is reported before the rest of the frame arrives")
    func earlyErrors() {
        #expect(decodingError(Array("?".utf8))?.code == .unknownType)
        #expect(decodingError(Array("*3\r\n:1\r\n:x\r\n".utf8))?.code == .invalidInteger)
        let shortLines = RESPDecoderLimits(maxLineLength: 8)
        #expect(decodingError(Array("+aaaaaaaaaaaa".utf8), limits: shortLines)?.code == .lineTooLong)
    }

    @Test("a line of exactly maxLineLength bytes is accepted")
    func lineAtLimit() throws {
        var offset = 0
        let limits = RESPDecoderLimits(maxLineLength: 8)
        let value = try decodeOnce(Array("+12345678\r\n".utf8), offset: &offset, limits: limits)
        #expect(value == .simpleString("12345678"))
    }

    @Test("a bulk string of exactly maxBulkLength bytes is accepted")
    func bulkAtLimit() throws {
        var offset = 0
        let limits = RESPDecoderLimits(maxBulkLength: 10)
        let value = try decodeOnce(Array("$10\r\n0123456789\r\n".utf8), offset: &offset, limits: limits)
        #expect(value == bulk("0123456789"))
    }

    @Test("malformed input throws the specific code", arguments: respMalformedCases)
    func malformed(_ testCase: RESPMalformedCase) {
        let error = decodingError(testCase.bytes, limits: testCase.limits)
        #expect(error?.code == testCase.code)
        if let expectedOffset = testCase.offset {
            #expect(error?.offset == expectedOffset)
        }
    }

    @Test("errors describe themselves with offset, code and what was found")
    func errorDescription() {
        let error = decodingError(Array("?\r\n".utf8))
        #expect(error?.description == "RESP decoding failed at byte 0: unknownType (type byte 0x3F ('?'))")
        #expect(decodingError(Array(":12a\r\n".utf8))?.detail == "found 0x61 ('a') in integer \"12a\"")
    }

    @Test("value accessors")
    func accessors() {
        #expect(RESPValue.simpleError("ERR x").errorMessage == "ERR x")
        #expect(RESPValue.bulkError("ERR y").errorMessage == "ERR y")
        #expect(RESPValue.simpleString("ERR").errorMessage == nil)
        #expect(RESPValue.simpleString("OK").string == "OK")
        #expect(bulk("abc").string == "abc")
        #expect(RESPValue.bulkString([0x61, 0xFF]).string == "a\u{FFFD}")
        #expect(RESPValue.verbatimString(format: "txt", text: "hi").string == "hi")
        #expect(RESPValue.integer(3).string == nil)
        #expect(RESPValue.integer(-3).int == -3)
        #expect(bulk("-9223372036854775808").int == .min)
        #expect(RESPValue.simpleString("12").int == 12)
        #expect(bulk("9223372036854775808").int == nil)
        #expect(bulk("+1").int == nil)
        #expect(bulk("").int == nil)
        #expect(bulk("1.5").int == nil)
        #expect(RESPValue.double(1).int == nil)
    }
}

/// One malformed input and the error it must produce.
struct RESPMalformedCase: Sendable, CustomTestStringConvertible {
    var name: String
    var bytes: [UInt8]
    var limits: RESPDecoderLimits = .default
    var code: RESPDecodingError.Code
    var offset: Int? = nil

    init(
        _ name: String,
        _ wire: String,
        _ code: RESPDecodingError.Code,
        offset: Int? = nil,
        limits: RESPDecoderLimits = .default
    ) {
        self.name = name
        self.bytes = Array(wire.utf8)
        self.code = code
        self.offset = offset
        self.limits = limits
    }

    var testDescription: String { name }
}

let respMalformedCases: [RESPMalformedCase] = [
    RESPMalformedCase("unknown type byte", "?\r\n", .unknownType, offset: 0),
    RESPMalformedCase("unknown type byte after a frame", "+OK\r\n@", .unknownType, offset: 5),
    RESPMalformedCase("unknown type byte inside an array", "*2\r\n:1\r\nx\r\n", .unknownType, offset: 8),
    RESPMalformedCase("non-numeric bulk length", "$abc\r\n", .invalidLength, offset: 1),
    RESPMalformedCase("empty bulk length", "$\r\n", .invalidLength),
    RESPMalformedCase("bulk length -2", "$-2\r\n", .invalidLength),
    RESPMalformedCase("array length -2", "*-2\r\n", .invalidLength),
    RESPMalformedCase("bulk length with plus", "$+1\r\nx\r\n", .invalidLength),
    RESPMalformedCase("bulk length overflowing Int64", "$99999999999999999999\r\n", .invalidLength),
    RESPMalformedCase("null bulk error", "!-1\r\n", .invalidLength),
    RESPMalformedCase("null map", "%-1\r\n", .invalidLength),
    RESPMalformedCase("streamed bulk string", "$?\r\n;4\r\nHell\r\n;0\r\n", .invalidLength),
    RESPMalformedCase("streamed array", "*?\r\n:1\r\n.\r\n", .invalidLength),
    RESPMalformedCase("missing CRLF after bulk payload", "$3\r\nfooXY", .missingCRLF, offset: 7),
    RESPMalformedCase("CR without LF after bulk payload", "$3\r\nfoo\rX", .missingCRLF, offset: 8),
    RESPMalformedCase("bulk payload longer than declared", "$2\r\nfoo\r\n", .missingCRLF, offset: 6),
    RESPMalformedCase("CR without LF after line", "+OK\rX", .missingCRLF, offset: 4),
    RESPMalformedCase("LF without CR", "+OK\n", .missingCRLF, offset: 3),
    RESPMalformedCase("null with text", "_x\r\n", .missingCRLF, offset: 1),
    RESPMalformedCase("integer with letter", ":12a\r\n", .invalidInteger, offset: 3),
    RESPMalformedCase("empty integer", ":\r\n", .invalidInteger, offset: 1),
    RESPMalformedCase("integer with plus", ":+5\r\n", .invalidInteger, offset: 1),
    RESPMalformedCase("lone minus", ":-\r\n", .invalidInteger),
    RESPMalformedCase("integer overflow", ":9223372036854775808\r\n", .invalidInteger),
    RESPMalformedCase("integer underflow", ":-9223372036854775809\r\n", .invalidInteger),
    RESPMalformedCase("boolean x", "#x\r\n", .invalidBoolean, offset: 1),
    RESPMalformedCase("boolean tt", "#tt\r\n", .invalidBoolean),
    RESPMalformedCase("empty boolean", "#\r\n", .invalidBoolean),
    RESPMalformedCase("double abc", ",abc\r\n", .invalidDouble, offset: 1),
    RESPMalformedCase("empty double", ",\r\n", .invalidDouble),
    RESPMalformedCase("double with two points", ",1.2.3\r\n", .invalidDouble),
    RESPMalformedCase("double with empty exponent", ",1e\r\n", .invalidDouble),
    RESPMalformedCase("double infinity spelled out", ",infinity\r\n", .invalidDouble),
    RESPMalformedCase("hex double", ",0x1p3\r\n", .invalidDouble),
    RESPMalformedCase("big number with letter", "(12x\r\n", .invalidBigNumber, offset: 3),
    RESPMalformedCase("empty big number", "(\r\n", .invalidBigNumber),
    RESPMalformedCase("big number with plus", "(+1\r\n", .invalidBigNumber),
    RESPMalformedCase("verbatim without colon", "=15\r\ntxtXSome string\r\n", .invalidVerbatim, offset: 5),
    RESPMalformedCase("verbatim shorter than its format", "=2\r\ntx\r\n", .invalidVerbatim),
    RESPMalformedCase(
        "line too long",
        "+" + String(repeating: "a", count: 65 * 1024) + "\r\n",
        .lineTooLong,
        offset: 1
    ),
    RESPMalformedCase(
        "line too long before its CRLF arrives",
        "-ERR 123456789",
        .lineTooLong,
        limits: RESPDecoderLimits(maxLineLength: 8)
    ),
    RESPMalformedCase(
        "length line too long",
        "$" + String(repeating: "0", count: 20),
        .lineTooLong,
        limits: RESPDecoderLimits(maxLineLength: 8)
    ),
    RESPMalformedCase("depth exceeded", String(repeating: "*1\r\n", count: 100), .depthLimitExceeded, offset: 256),
    RESPMalformedCase(
        "depth exceeded by maps",
        String(repeating: "%1\r\n+k\r\n", count: 3),
        .depthLimitExceeded,
        offset: 16,
        limits: RESPDecoderLimits(maxDepth: 2)
    ),
    RESPMalformedCase(
        "depth exceeded inside an attribute",
        "|1\r\n+k\r\n*1\r\n:1\r\n:1\r\n",
        .depthLimitExceeded,
        offset: 8,
        limits: RESPDecoderLimits(maxDepth: 1)
    ),
    RESPMalformedCase(
        "bulk length over limit",
        "$11\r\nhello world\r\n",
        .bulkLengthLimitExceeded,
        offset: 0,
        limits: RESPDecoderLimits(maxBulkLength: 10)
    ),
    RESPMalformedCase(
        "bulk length over limit before the payload arrives",
        "$11\r\n",
        .bulkLengthLimitExceeded,
        limits: RESPDecoderLimits(maxBulkLength: 10)
    ),
    RESPMalformedCase(
        "verbatim length over limit",
        "=15\r\ntxt:Some string\r\n",
        .bulkLengthLimitExceeded,
        limits: RESPDecoderLimits(maxBulkLength: 10)
    ),
    RESPMalformedCase(
        "array count over limit",
        "*3\r\n:1\r\n:2\r\n:3\r\n",
        .aggregateLimitExceeded,
        offset: 0,
        limits: RESPDecoderLimits(maxAggregateCount: 2)
    ),
    RESPMalformedCase(
        "map count over limit",
        "%3\r\n",
        .aggregateLimitExceeded,
        limits: RESPDecoderLimits(maxAggregateCount: 2)
    ),
    RESPMalformedCase("huge declared array length", "*2000000000\r\n", .aggregateLimitExceeded, offset: 0),
    RESPMalformedCase("huge declared push length", ">9223372036854775807\r\n", .aggregateLimitExceeded),
]
