import SluiceNet

/// Writes RESP frames into a byte buffer.
///
/// Commands always go out as RESP arrays of bulk strings, which every Redis version accepts and which is
/// binary-safe. ``encode(_:into:)`` writes any ``RESPValue`` in RESP3 form, for tests and fake servers.
///
/// ```swift
/// var buffer: [UInt8] = []
/// RESPEncoder.encodeCommand(["INCRBY", "hits", 1], into: &buffer)
/// // buffer == "*3\r\n$6\r\nINCRBY\r\n$4\r\nhits\r\n$1\r\n1\r\n"
/// ```
public enum RESPEncoder {
    /// Appends a command as a RESP array of bulk strings: *N\r\n$len\r\narg\r\n...
    ///
    /// ```swift
    /// RESPEncoder.encodeCommand(["EVALSHA", .string(sha), 1, .bytes(key), 10], into: &buffer)
    /// ```
    public static func encodeCommand(_ arguments: [RESPArgument], into buffer: inout [UInt8]) {
        // Sized first, then written through a pointer into a scratch frame and appended at once:
        // appending piece by piece checked the buffer's uniqueness and capacity per piece, about
        // six times an argument (a third of the encoding's instructions went that way).
        var size = headerSize(count: arguments.count)
        for argument in arguments {
            let length = argument.encodedLength
            size += headerSize(count: length) + length + 2
        }
        withUnsafeTemporaryAllocation(of: UInt8.self, capacity: size) { frame in
            var writer = FrameWriter(frame: frame)
            writer.header(UInt8(ascii: "*"), count: arguments.count)
            for argument in arguments {
                writer.header(UInt8(ascii: "$"), count: argument.encodedLength)
                switch argument {
                case .string(let text): writer.bytes(text.utf8)
                case .bytes(let bytes): writer.bytes(bytes)
                case .integer(let value): writer.decimal(value)
                }
                writer.crlf()
            }
            buffer.append(contentsOf: UnsafeBufferPointer(frame))
        }
    }

    /// `<type><count>\r\n`: a type byte, the count's digits, CR LF.
    private static func headerSize(count: Int) -> Int {
        1 + DecimalDigits.count(UInt64(count)) + 2
    }

    /// Writes a frame front to back into memory sized for it beforehand.
    private struct FrameWriter {
        let frame: UnsafeMutableBufferPointer<UInt8>
        var position = 0

        mutating func header(_ type: UInt8, count: Int) {
            frame[position] = type
            position += 1
            decimal(Int64(count))
            crlf()
        }

        mutating func decimal(_ value: Int64) {
            position += DecimalDigits.write(
                signed: value, into: UnsafeMutableBufferPointer(rebasing: frame[position...]))
        }

        mutating func bytes<Bytes: Collection<UInt8>>(_ bytes: Bytes) {
            position = frame.initialize(at: position, from: bytes)
        }

        mutating func crlf() {
            frame[position] = UInt8(ascii: "\r")
            frame[position + 1] = UInt8(ascii: "\n")
            position += 2
        }
    }

    /// Appends any RESPValue in RESP3 wire form (used by tests and by fake servers in tests).
    ///
    /// Simple strings, simple errors and big numbers are written as given: text containing CR or LF yields a
    /// frame no decoder accepts. A verbatim string's `format` should be exactly 3 bytes.
    ///
    /// ```swift
    /// RESPEncoder.encode(.map([RESPMapEntry(key: .simpleString("proto"), value: .integer(3))]), into: &buffer)
    /// ```
    public static func encode(_ value: RESPValue, into buffer: inout [UInt8]) {
        switch value {
        case .simpleString(let text):
            appendLine(UInt8(ascii: "+"), text, into: &buffer)
        case .simpleError(let text):
            appendLine(UInt8(ascii: "-"), text, into: &buffer)
        case .integer(let number):
            buffer.append(UInt8(ascii: ":"))
            buffer.appendDecimal(number)
            appendCRLF(into: &buffer)
        case .bulkString(let bytes):
            appendBlob(UInt8(ascii: "$"), bytes, into: &buffer)
        case .null:
            buffer.append(UInt8(ascii: "_"))
            appendCRLF(into: &buffer)
        case .array(let elements):
            appendAggregate(UInt8(ascii: "*"), elements, into: &buffer)
        case .double(let number):
            appendLine(UInt8(ascii: ","), doubleText(number), into: &buffer)
        case .boolean(let flag):
            appendLine(UInt8(ascii: "#"), flag ? "t" : "f", into: &buffer)
        case .bigNumber(let digits):
            appendLine(UInt8(ascii: "("), digits, into: &buffer)
        case .bulkError(let text):
            appendBlob(UInt8(ascii: "!"), text.utf8, into: &buffer)
        case .verbatimString(let format, let text):
            appendHeader(UInt8(ascii: "="), count: format.utf8.count + 1 + text.utf8.count, into: &buffer)
            buffer.append(contentsOf: format.utf8)
            buffer.append(UInt8(ascii: ":"))
            buffer.append(contentsOf: text.utf8)
            appendCRLF(into: &buffer)
        case .map(let entries):
            appendHeader(UInt8(ascii: "%"), count: entries.count, into: &buffer)
            for entry in entries {
                encode(entry.key, into: &buffer)
                encode(entry.value, into: &buffer)
            }
        case .set(let elements):
            appendAggregate(UInt8(ascii: "~"), elements, into: &buffer)
        case .push(let elements):
            appendAggregate(UInt8(ascii: ">"), elements, into: &buffer)
        }
    }

    // MARK: Pieces

    private static func appendCRLF(into buffer: inout [UInt8]) {
        buffer.append(UInt8(ascii: "\r"))
        buffer.append(UInt8(ascii: "\n"))
    }

    private static func appendLine(_ type: UInt8, _ text: String, into buffer: inout [UInt8]) {
        buffer.append(type)
        buffer.append(contentsOf: text.utf8)
        appendCRLF(into: &buffer)
    }

    private static func appendHeader(_ type: UInt8, count: Int, into buffer: inout [UInt8]) {
        buffer.append(type)
        buffer.appendDecimal(count)
        appendCRLF(into: &buffer)
    }

    private static func appendBlob<Bytes: Collection<UInt8>>(
        _ type: UInt8,
        _ bytes: Bytes,
        into buffer: inout [UInt8]
    ) {
        appendHeader(type, count: bytes.count, into: &buffer)
        buffer.append(contentsOf: bytes)
        appendCRLF(into: &buffer)
    }

    private static func appendAggregate(_ type: UInt8, _ elements: [RESPValue], into buffer: inout [UInt8]) {
        appendHeader(type, count: elements.count, into: &buffer)
        for element in elements {
            encode(element, into: &buffer)
        }
    }

    /// RESP3 spells the specials `inf`, `-inf` and `nan`; Swift's description is the shortest text that
    /// round-trips (`1.5`, `1e-05`, `1e+100`), which the RESP3 double grammar accepts.
    private static func doubleText(_ value: Double) -> String {
        if value.isNaN {
            return "nan"
        }
        if value.isInfinite {
            return value < 0 ? "-inf" : "inf"
        }
        return value.description
    }
}

/// One argument of a command: text, raw bytes, or an integer (sent as its decimal text).
///
/// Literals convert implicitly, so most commands read naturally:
///
/// ```swift
/// let arguments: [RESPArgument] = ["SET", "key", .bytes(payload), "PX", 1500]
/// ```
public enum RESPArgument: Sendable, Hashable, ExpressibleByStringLiteral, ExpressibleByIntegerLiteral {
    /// Text, sent as its UTF-8 bytes.
    case string(String)
    /// Raw bytes, sent unchanged.
    case bytes([UInt8])
    /// An integer, sent as its decimal text (e.g. `-12` becomes `$3\r\n-12\r\n`).
    case integer(Int64)

    /// How many bytes the argument is on the wire, not counting its `$<length>\r\n` header.
    var encodedLength: Int {
        switch self {
        case .string(let text): text.utf8.count
        case .bytes(let bytes): bytes.count
        case .integer(let value): DecimalDigits.count(signed: value)
        }
    }

    /// Creates a ``string(_:)`` argument from a string literal.
    public init(stringLiteral value: String) {
        self = .string(value)
    }

    /// Creates an ``integer(_:)`` argument from an integer literal.
    public init(integerLiteral value: Int64) {
        self = .integer(value)
    }
}
