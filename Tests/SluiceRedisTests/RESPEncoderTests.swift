import Testing

@testable import SluiceRedis

private func decodeAll(_ bytes: [UInt8]) throws -> [RESPValue] {
    var decoder = RESPDecoder()
    var offset = 0
    var values: [RESPValue] = []
    while let value = try decoder.decode(bytes, offset: &offset) {
        values.append(value)
    }
    #expect(offset == bytes.count, "trailing bytes after the last complete frame")
    return values
}

/// One value of every case, with nesting, edge numbers and binary payloads (NaN is checked separately).
let respRoundTripValues: [RESPValue] = [
    .simpleString("OK"),
    .simpleString(""),
    .simpleError("NOSCRIPT No matching script"),
    .integer(0),
    .integer(7),
    .integer(-7),
    .integer(.max),
    .integer(.min),
    .bulkString(Array("a\r\nb".utf8) + [0x00, 0xFF]),
    .bulkString([]),
    .null,
    .array([]),
    .array([.integer(1), .bulkString(Array("two".utf8)), .array([.null])]),
    .double(1.5),
    .double(-0.1),
    .double(1e-5),
    .double(1e100),
    .double(123_456_789.0),
    .double(.infinity),
    .double(-.infinity),
    .double(.leastNonzeroMagnitude),
    .double(.greatestFiniteMagnitude),
    .boolean(true),
    .boolean(false),
    .bigNumber("3492890328409238509324850943850943825024385"),
    .bigNumber("-1"),
    .bulkError("SYNTAX invalid\r\nsyntax"),
    .verbatimString(format: "txt", text: "Some string"),
    .verbatimString(format: "mkd", text: ""),
    .map([]),
    .map([
        RESPMapEntry(key: .simpleString("server"), value: .bulkString(Array("redis".utf8))),
        RESPMapEntry(key: .array([.integer(1)]), value: .set([.boolean(true), .double(2)])),
    ]),
    .set([]),
    .set([.simpleString("a"), .integer(2)]),
    .push([.bulkString(Array("invalidate".utf8)), .array([.bulkString(Array("key".utf8))])]),
]

@Suite("RESPEncoder")
struct RESPEncoderTests {
    @Test("encodeCommand writes an array of bulk strings")
    func encodeCommand() {
        var buffer: [UInt8] = []
        RESPEncoder.encodeCommand(["SET", "k", .bytes(Array("a\r\nb".utf8)), 42], into: &buffer)
        #expect(buffer == Array("*4\r\n$3\r\nSET\r\n$1\r\nk\r\n$4\r\na\r\nb\r\n$2\r\n42\r\n".utf8))
    }

    @Test("encodeCommand appends and spells integers in decimal")
    func encodeCommandAppends() {
        var buffer: [UInt8] = Array("+x\r\n".utf8)
        RESPEncoder.encodeCommand([-12, 0, .integer(.min), .string("é"), .bytes([])], into: &buffer)
        let expected =
            "+x\r\n*5\r\n$3\r\n-12\r\n$1\r\n0\r\n$20\r\n-9223372036854775808\r\n$2\r\n\u{E9}\r\n$0\r\n\r\n"
        #expect(buffer == Array(expected.utf8))
    }

    @Test("a command too large for the stack is written whole: long text, bytes, and a long count")
    func largeCommand() throws {
        let text = String(repeating: "ü", count: 70_000)  // two bytes each
        let bytes = [UInt8](repeating: 7, count: 1 << 20)
        let arguments = [RESPArgument](repeating: 1, count: 12) + [.string(text), .bytes(bytes)]
        var buffer: [UInt8] = []
        RESPEncoder.encodeCommand(arguments, into: &buffer)
        let expected =
            [RESPValue](repeating: .bulkString(Array("1".utf8)), count: 12) + [
                .bulkString(Array(text.utf8)), .bulkString(bytes),
            ]
        #expect(try decodeAll(buffer) == [.array(expected)])
        #expect(buffer.starts(with: Array("*14\r\n$1\r\n1\r\n".utf8)))
    }

    @Test("an empty command is an empty array")
    func emptyCommand() {
        var buffer: [UInt8] = []
        RESPEncoder.encodeCommand([], into: &buffer)
        #expect(buffer == Array("*0\r\n".utf8))
    }

    @Test("encodeCommand output decodes to bulk strings")
    func commandDecodes() throws {
        var buffer: [UInt8] = []
        RESPEncoder.encodeCommand(["EVALSHA", "abc", 1, "key", -5], into: &buffer)
        let expected = ["EVALSHA", "abc", "1", "key", "-5"].map { RESPValue.bulkString(Array($0.utf8)) }
        #expect(try decodeAll(buffer) == [.array(expected)])
    }

    @Test("encode writes RESP3 wire forms")
    func wireForms() {
        let cases: [(RESPValue, String)] = [
            (.simpleString("OK"), "+OK\r\n"),
            (.simpleError("ERR x"), "-ERR x\r\n"),
            (.integer(-3), ":-3\r\n"),
            (.bulkString(Array("hi".utf8)), "$2\r\nhi\r\n"),
            (.null, "_\r\n"),
            (.double(1.5), ",1.5\r\n"),
            (.double(.infinity), ",inf\r\n"),
            (.double(-.infinity), ",-inf\r\n"),
            (.double(.nan), ",nan\r\n"),
            (.boolean(true), "#t\r\n"),
            (.boolean(false), "#f\r\n"),
            (.bigNumber("-12"), "(-12\r\n"),
            (.bulkError("ERR y"), "!5\r\nERR y\r\n"),
            (.verbatimString(format: "txt", text: "Some string"), "=15\r\ntxt:Some string\r\n"),
            (.array([.integer(1)]), "*1\r\n:1\r\n"),
            (.map([RESPMapEntry(key: .simpleString("a"), value: .integer(1))]), "%1\r\n+a\r\n:1\r\n"),
            (.set([.null]), "~1\r\n_\r\n"),
            (.push([.simpleString("p")]), ">1\r\n+p\r\n"),
        ]
        for (value, wire) in cases {
            var buffer: [UInt8] = []
            RESPEncoder.encode(value, into: &buffer)
            #expect(buffer == Array(wire.utf8), "\(value)")
        }
    }

    @Test("encode then decode gives the value back", arguments: respRoundTripValues)
    func roundTrip(_ value: RESPValue) throws {
        var buffer: [UInt8] = []
        RESPEncoder.encode(value, into: &buffer)
        #expect(try decodeAll(buffer) == [value])
    }

    @Test("all values encoded into one buffer decode in order")
    func roundTripConcatenated() throws {
        var buffer: [UInt8] = []
        for value in respRoundTripValues {
            RESPEncoder.encode(value, into: &buffer)
        }
        #expect(try decodeAll(buffer) == respRoundTripValues)
    }

    @Test("NaN survives a round trip")
    func nanRoundTrip() throws {
        var buffer: [UInt8] = []
        RESPEncoder.encode(.double(.nan), into: &buffer)
        let values = try decodeAll(buffer)
        guard values.count == 1, case .double(let number) = values[0] else {
            Issue.record("expected one double, got \(values)")
            return
        }
        #expect(number.isNaN)
    }
}
