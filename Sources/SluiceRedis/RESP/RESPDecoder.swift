/// Bounds that keep a hostile or broken server from making ``RESPDecoder`` use unbounded memory or stack.
///
/// ```swift
/// var limits = RESPDecoderLimits.default
/// limits.maxBulkLength = 1 << 20
/// var decoder = RESPDecoder(limits: limits)
/// ```
public struct RESPDecoderLimits: Sendable {
    /// How deeply aggregates (arrays, maps, sets, pushes, attributes) may nest; a top-level array is depth 1.
    /// The decoder recurses once per level, so this also bounds its stack use.
    public var maxDepth: Int
    /// The most bytes in one bulk string, bulk error or verbatim string.
    public var maxBulkLength: Int
    /// The most elements (or key/value pairs, for maps and attributes) one aggregate may declare.
    public var maxAggregateCount: Int
    /// The most bytes in one line, CRLF excluded: simple strings, errors, numbers and length prefixes.
    public var maxLineLength: Int

    /// Depth 64, bulk 512 MiB (Redis' own `proto-max-bulk-len`), 2^24 elements, lines of 64 KiB.
    public static let `default` = RESPDecoderLimits()

    /// Creates limits; every argument defaults to the value in ``default``.
    public init(
        maxDepth: Int = 64,
        maxBulkLength: Int = 512 * 1024 * 1024,
        maxAggregateCount: Int = 1 << 24,
        maxLineLength: Int = 64 * 1024
    ) {
        self.maxDepth = maxDepth
        self.maxBulkLength = maxBulkLength
        self.maxAggregateCount = maxAggregateCount
        self.maxLineLength = maxLineLength
    }
}

/// An incremental decoder for RESP2 and RESP3 replies.
///
/// The decoder is pure: it reads the bytes a connection has buffered and returns either one complete value
/// or `nil` ("need more bytes"). It reads straight from the caller's buffer and never allocates from a declared
/// length or count beyond what the buffer can actually hold, so a hostile `*2000000000\r\n` costs nothing.
///
/// A partial frame is re-parsed from its start on the next call; frames are small in practice, and this keeps
/// the decoder free of state between calls (apart from ``lastAttributes``).
///
/// Streamed RESP3 strings and aggregates (`$?`, `*?`, ...) are rejected with `invalidLength`: Redis never
/// sends them.
///
/// ```swift
/// var decoder = RESPDecoder()
/// var offset = 0
/// while let reply = try decoder.decode(received, offset: &offset) {
///     handle(reply)
/// }
/// received.removeFirst(offset)
/// ```
public struct RESPDecoder: Sendable {
    /// The limits this decoder enforces.
    public let limits: RESPDecoderLimits

    /// Attributes (`|`) that preceded the most recently decoded value, or nil if none. Attributes are
    /// parsed and validated, then handed out here rather than wrapped around the value.
    ///
    /// Only top-level attributes are kept; attributes nested inside aggregates are validated and dropped.
    /// Unchanged by a call that returns `nil` or throws.
    public private(set) var lastAttributes: [RESPMapEntry]?

    /// Creates a decoder.
    ///
    /// ```swift
    /// var decoder = RESPDecoder(limits: RESPDecoderLimits(maxBulkLength: 1 << 20))
    /// ```
    public init(limits: RESPDecoderLimits = .default) {
        self.limits = limits
        self.lastAttributes = nil
    }

    /// Decodes one complete value from `bytes[offset...]`. Returns nil when the frame is not complete yet
    /// (offset unchanged: call again with more bytes). On success advances `offset` past the frame.
    /// Never throws on a partial frame; throws only on malformed input or a limit exceeded.
    ///
    /// Malformed bytes and exceeded limits are reported as soon as they are seen, even before the frame is
    /// complete. Error offsets index into `bytes`.
    ///
    /// ```swift
    /// let value = try buffer.withUnsafeBytes { try decoder.decode($0, offset: &offset) }
    /// ```
    public mutating func decode(
        _ bytes: UnsafeRawBufferPointer,
        offset: inout Int
    ) throws(RESPDecodingError) -> RESPValue? {
        precondition(offset >= 0 && offset <= bytes.count, "offset \(offset) outside buffer of \(bytes.count) bytes")
        let parser = RESPFrameParser(bytes: bytes, limits: limits)
        var position = offset
        var attributes: [RESPMapEntry]? = nil
        guard let value = try parser.parseValue(at: &position, depth: 0, attributes: &attributes) else {
            return nil
        }
        offset = position
        lastAttributes = attributes
        return value
    }
}

extension RESPDecoder {
    /// Convenience for tests and small inputs.
    ///
    /// ```swift
    /// var decoder = RESPDecoder()
    /// var offset = 0
    /// let value = try decoder.decode(Array("+OK\r\n".utf8), offset: &offset)  // .simpleString("OK")
    /// ```
    public mutating func decode(_ bytes: [UInt8], offset: inout Int) throws(RESPDecodingError) -> RESPValue? {
        let result: Result<RESPValue?, RESPDecodingError> = bytes.withUnsafeBytes { buffer in
            do throws(RESPDecodingError) {
                return .success(try decode(buffer, offset: &offset))
            } catch {
                return .failure(error)
            }
        }
        return try result.get()
    }

    /// Parses an optional `-` followed by decimal digits into an `Int64`; `nil` when empty, not decimal,
    /// or out of range. Shared with ``RESPValue/int`` so both accept exactly the same text.
    static func decimalValue(of bytes: UnsafeRawBufferPointer) -> Int64? {
        if case .value(let value) = parseDecimal(bytes, in: 0..<bytes.count) {
            return value
        }
        return nil
    }

    /// The outcome of ``parseDecimal(_:in:)``; failures carry the offset of the offending byte.
    enum DecimalParseResult {
        case value(Int64)
        case empty
        case invalidByte(at: Int)
        case overflow(at: Int)
    }

    /// Parses `bytes[range]` as an optional `-` followed by at least one decimal digit. A leading `+` is
    /// rejected, like everything else that is not a digit.
    static func parseDecimal(_ bytes: UnsafeRawBufferPointer, in range: Range<Int>) -> DecimalParseResult {
        var index = range.lowerBound
        let negative = index < range.upperBound && bytes[index] == UInt8(ascii: "-")
        if negative {
            index += 1
        }
        guard index < range.upperBound else {
            return .empty
        }
        var value: Int64 = 0
        while index < range.upperBound {
            let digit = bytes[index] &- UInt8(ascii: "0")
            guard digit < 10 else {
                return .invalidByte(at: index)
            }
            // Accumulating negative values towards Int64.min lets "-9223372036854775808" parse.
            let (shifted, shiftOverflow) = value.multipliedReportingOverflow(by: 10)
            let (next, addOverflow) =
                negative
                ? shifted.subtractingReportingOverflow(Int64(digit))
                : shifted.addingReportingOverflow(Int64(digit))
            guard !shiftOverflow && !addOverflow else {
                return .overflow(at: index)
            }
            value = next
            index += 1
        }
        return .value(value)
    }
}

/// The recursive-descent parser behind ``RESPDecoder``: one instance per `decode` call, reading one buffer.
///
/// Every `parse`/`read` method returns `nil` when the buffer ends before the item does. They may move
/// `position` before returning `nil`; only the top-level `decode` commits it, and only on success.
private struct RESPFrameParser {
    let bytes: UnsafeRawBufferPointer
    let limits: RESPDecoderLimits

    /// A length prefix: the RESP2 null (`-1`) or a non-negative count.
    private enum Length {
        case null
        case count(Int)
    }

    /// Parses one value whose type byte is at `position`. Attributes in front of it are appended to
    /// `attributes`.
    func parseValue(
        at position: inout Int,
        depth: Int,
        attributes: inout [RESPMapEntry]?
    ) throws(RESPDecodingError) -> RESPValue? {
        // A loop rather than recursion, so a long run of attributes cannot grow the stack.
        while true {
            guard position < bytes.count else {
                return nil
            }
            let typeOffset = position
            let typeByte = bytes[position]
            position += 1
            switch typeByte {
            case UInt8(ascii: "+"):
                guard let line = try readLine(at: &position) else { return nil }
                return .simpleString(text(line))
            case UInt8(ascii: "-"):
                guard let line = try readLine(at: &position) else { return nil }
                return .simpleError(text(line))
            case UInt8(ascii: ":"):
                guard let line = try readLine(at: &position) else { return nil }
                return .integer(try parseInteger(line))
            case UInt8(ascii: "_"):
                guard let line = try readLine(at: &position) else { return nil }
                guard line.isEmpty else {
                    throw RESPDecodingError(
                        code: .missingCRLF,
                        offset: line.lowerBound,
                        detail: "null '_' must be followed by CRLF, found \(excerpt(line))"
                    )
                }
                return .null
            case UInt8(ascii: ","):
                guard let line = try readLine(at: &position) else { return nil }
                return .double(try parseDouble(line))
            case UInt8(ascii: "#"):
                guard let line = try readLine(at: &position) else { return nil }
                return .boolean(try parseBoolean(line))
            case UInt8(ascii: "("):
                guard let line = try readLine(at: &position) else { return nil }
                return .bigNumber(try parseBigNumber(line))
            case UInt8(ascii: "$"):
                guard let length = try readLength(at: &position, allowsNull: true) else { return nil }
                guard case .count(let count) = length else { return .null }
                guard let payload = try readPayload(at: &position, count: count, typeOffset: typeOffset) else {
                    return nil
                }
                return .bulkString(Array(UnsafeRawBufferPointer(rebasing: bytes[payload])))
            case UInt8(ascii: "!"):
                guard case .count(let count) = try readLength(at: &position, allowsNull: false),
                    let payload = try readPayload(at: &position, count: count, typeOffset: typeOffset)
                else { return nil }
                return .bulkError(text(payload))
            case UInt8(ascii: "="):
                guard case .count(let count) = try readLength(at: &position, allowsNull: false),
                    let payload = try readPayload(at: &position, count: count, typeOffset: typeOffset)
                else { return nil }
                return try parseVerbatim(payload)
            case UInt8(ascii: "*"):
                let header = try readAggregateHeader(
                    at: &position, typeOffset: typeOffset, depth: depth, allowsNull: true)
                guard let length = header else { return nil }
                guard case .count(let count) = length else { return .null }
                return try parseElements(at: &position, count: count, depth: depth + 1).map(RESPValue.array)
            case UInt8(ascii: "~"), UInt8(ascii: ">"):
                guard
                    case .count(let count) = try readAggregateHeader(
                        at: &position, typeOffset: typeOffset, depth: depth, allowsNull: false),
                    let elements = try parseElements(at: &position, count: count, depth: depth + 1)
                else { return nil }
                return typeByte == UInt8(ascii: "~") ? .set(elements) : .push(elements)
            case UInt8(ascii: "%"), UInt8(ascii: "|"):
                guard
                    case .count(let count) = try readAggregateHeader(
                        at: &position, typeOffset: typeOffset, depth: depth, allowsNull: false),
                    let entries = try parseEntries(at: &position, count: count, depth: depth + 1)
                else { return nil }
                if typeByte == UInt8(ascii: "%") {
                    return .map(entries)
                }
                // An attribute: remember it and go on to the value it annotates.
                attributes = (attributes ?? []) + entries
            default:
                throw RESPDecodingError(
                    code: .unknownType,
                    offset: typeOffset,
                    detail: "type byte \(describe(typeByte))"
                )
            }
        }
    }

    // MARK: Lines

    /// Returns the range of the line starting at `position` (CRLF excluded) and moves past its CRLF.
    private func readLine(at position: inout Int) throws(RESPDecodingError) -> Range<Int>? {
        let start = position
        var index = start
        while index < bytes.count {
            let byte = bytes[index]
            if byte == UInt8(ascii: "\r") {
                guard index + 1 < bytes.count else {
                    return nil
                }
                guard bytes[index + 1] == UInt8(ascii: "\n") else {
                    throw RESPDecodingError(
                        code: .missingCRLF,
                        offset: index + 1,
                        detail: "expected LF after CR, found \(describe(bytes[index + 1]))"
                    )
                }
                position = index + 2
                return start..<index
            }
            if byte == UInt8(ascii: "\n") {
                throw RESPDecodingError(code: .missingCRLF, offset: index, detail: "LF without CR")
            }
            if index - start >= limits.maxLineLength {
                throw RESPDecodingError(
                    code: .lineTooLong,
                    offset: start,
                    detail: "no CRLF within maxLineLength \(limits.maxLineLength) bytes"
                )
            }
            index += 1
        }
        return nil
    }

    private func parseInteger(_ line: Range<Int>) throws(RESPDecodingError) -> Int64 {
        switch RESPDecoder.parseDecimal(bytes, in: line) {
        case .value(let value):
            return value
        case .empty:
            throw RESPDecodingError(code: .invalidInteger, offset: line.lowerBound, detail: "empty integer")
        case .invalidByte(let index):
            throw RESPDecodingError(
                code: .invalidInteger,
                offset: index,
                detail: "found \(describe(bytes[index])) in integer \(excerpt(line))"
            )
        case .overflow(let index):
            throw RESPDecodingError(
                code: .invalidInteger,
                offset: index,
                detail: "integer \(excerpt(line)) does not fit in Int64"
            )
        }
    }

    private func parseBoolean(_ line: Range<Int>) throws(RESPDecodingError) -> Bool {
        if line.count == 1 {
            switch bytes[line.lowerBound] {
            case UInt8(ascii: "t"): return true
            case UInt8(ascii: "f"): return false
            default: break
            }
        }
        throw RESPDecodingError(
            code: .invalidBoolean,
            offset: line.lowerBound,
            detail: "expected 't' or 'f', found \(excerpt(line))"
        )
    }

    private func parseBigNumber(_ line: Range<Int>) throws(RESPDecodingError) -> String {
        var index = line.lowerBound
        if index < line.upperBound && bytes[index] == UInt8(ascii: "-") {
            index += 1
        }
        var sawDigit = false
        while index < line.upperBound {
            guard isDigit(bytes[index]) else {
                throw RESPDecodingError(
                    code: .invalidBigNumber,
                    offset: index,
                    detail: "found \(describe(bytes[index])) in big number \(excerpt(line))"
                )
            }
            sawDigit = true
            index += 1
        }
        guard sawDigit else {
            throw RESPDecodingError(
                code: .invalidBigNumber,
                offset: line.lowerBound,
                detail: "big number \(excerpt(line)) has no digits"
            )
        }
        return text(line)
    }

    /// Accepts `inf`, `+inf`, `-inf`, `nan`, `-nan` and `[+-]digits[.digits][(e|E)[+-]digits]`. The grammar is
    /// checked here because `Double(String)` also accepts hex floats, `infinity` and the like.
    private func parseDouble(_ line: Range<Int>) throws(RESPDecodingError) -> Double {
        let slice = UnsafeRawBufferPointer(rebasing: bytes[line])
        if slice.elementsEqual("inf".utf8) || slice.elementsEqual("+inf".utf8) {
            return .infinity
        }
        if slice.elementsEqual("-inf".utf8) {
            return -.infinity
        }
        if slice.elementsEqual("nan".utf8) || slice.elementsEqual("-nan".utf8) {
            return .nan
        }
        guard isDecimalFloat(slice), let value = Double(String(decoding: slice, as: UTF8.self)) else {
            throw RESPDecodingError(
                code: .invalidDouble,
                offset: line.lowerBound,
                detail: "\(excerpt(line)) is not a double"
            )
        }
        return value
    }

    private func isDecimalFloat(_ text: UnsafeRawBufferPointer) -> Bool {
        var index = 0
        func skipSign() {
            if index < text.count && (text[index] == UInt8(ascii: "+") || text[index] == UInt8(ascii: "-")) {
                index += 1
            }
        }
        func skipDigits() -> Int {
            let start = index
            while index < text.count && isDigit(text[index]) {
                index += 1
            }
            return index - start
        }
        skipSign()
        var mantissaDigits = skipDigits()
        if index < text.count && text[index] == UInt8(ascii: ".") {
            index += 1
            mantissaDigits += skipDigits()
        }
        guard mantissaDigits > 0 else {
            return false
        }
        if index < text.count && (text[index] == UInt8(ascii: "e") || text[index] == UInt8(ascii: "E")) {
            index += 1
            skipSign()
            guard skipDigits() > 0 else {
                return false
            }
        }
        return index == text.count
    }

    // MARK: Length-prefixed types

    /// Reads a length line after `$ ! = * ~ > % |`.
    private func readLength(at position: inout Int, allowsNull: Bool) throws(RESPDecodingError) -> Length? {
        guard let line = try readLine(at: &position) else {
            return nil
        }
        if line.count == 1 && bytes[line.lowerBound] == UInt8(ascii: "?") {
            throw RESPDecodingError(
                code: .invalidLength,
                offset: line.lowerBound,
                detail: "streamed RESP3 types ('?' length) are not supported"
            )
        }
        guard case .value(let value) = RESPDecoder.parseDecimal(bytes, in: line) else {
            throw RESPDecodingError(
                code: .invalidLength,
                offset: line.lowerBound,
                detail: "length \(excerpt(line)) is not a decimal integer"
            )
        }
        if value == -1 && allowsNull {
            return .null
        }
        guard value >= 0 else {
            throw RESPDecodingError(code: .invalidLength, offset: line.lowerBound, detail: "negative length \(value)")
        }
        return .count(Int(clamping: value))
    }

    /// Returns the range of a `count`-byte payload at `position` and moves past its CRLF.
    private func readPayload(
        at position: inout Int,
        count: Int,
        typeOffset: Int
    ) throws(RESPDecodingError) -> Range<Int>? {
        guard count <= limits.maxBulkLength else {
            throw RESPDecodingError(
                code: .bulkLengthLimitExceeded,
                offset: typeOffset,
                detail: "declared \(count) bytes, maxBulkLength is \(limits.maxBulkLength)"
            )
        }
        // Subtraction, not `position + count + 2`, so a huge declared count cannot overflow.
        let available = bytes.count - position
        guard available >= 2 && count <= available - 2 else {
            return nil
        }
        let end = position + count
        guard bytes[end] == UInt8(ascii: "\r") && bytes[end + 1] == UInt8(ascii: "\n") else {
            let bad = bytes[end] == UInt8(ascii: "\r") ? end + 1 : end
            throw RESPDecodingError(
                code: .missingCRLF,
                offset: bad,
                detail: "expected CRLF after \(count)-byte payload, found \(describe(bytes[bad]))"
            )
        }
        let payload = position..<end
        position = end + 2
        return payload
    }

    private func parseVerbatim(_ payload: Range<Int>) throws(RESPDecodingError) -> RESPValue {
        guard payload.count >= 4 && bytes[payload.lowerBound + 3] == UInt8(ascii: ":") else {
            throw RESPDecodingError(
                code: .invalidVerbatim,
                offset: payload.lowerBound,
                detail: "expected a 3-byte format and ':', found \(excerpt(payload))"
            )
        }
        let colon = payload.lowerBound + 3
        return .verbatimString(format: text(payload.lowerBound..<colon), text: text(colon + 1..<payload.upperBound))
    }

    // MARK: Aggregates

    /// Checks depth, then reads the count line and checks it against ``RESPDecoderLimits/maxAggregateCount``.
    private func readAggregateHeader(
        at position: inout Int,
        typeOffset: Int,
        depth: Int,
        allowsNull: Bool
    ) throws(RESPDecodingError) -> Length? {
        guard depth < limits.maxDepth else {
            throw RESPDecodingError(
                code: .depthLimitExceeded,
                offset: typeOffset,
                detail: "aggregate at depth \(depth + 1), maxDepth is \(limits.maxDepth)"
            )
        }
        guard let length = try readLength(at: &position, allowsNull: allowsNull) else {
            return nil
        }
        guard case .count(let count) = length else {
            return length
        }
        guard count <= limits.maxAggregateCount else {
            throw RESPDecodingError(
                code: .aggregateLimitExceeded,
                offset: typeOffset,
                detail: "declared \(count) entries, maxAggregateCount is \(limits.maxAggregateCount)"
            )
        }
        return length
    }

    /// Capacity to reserve for `count` declared items of `bytesPerItem` bytes at least: never more than the
    /// bytes present could hold, so a hostile count cannot make the decoder allocate.
    private func plausibleCapacity(_ count: Int, bytesPerItem: Int, from position: Int) -> Int {
        min(count, (bytes.count - position) / bytesPerItem)
    }

    private func parseElements(
        at position: inout Int,
        count: Int,
        depth: Int
    ) throws(RESPDecodingError) -> [RESPValue]? {
        var elements: [RESPValue] = []
        // The smallest value, "_\r\n", takes 3 bytes.
        elements.reserveCapacity(plausibleCapacity(count, bytesPerItem: 3, from: position))
        var nestedAttributes: [RESPMapEntry]? = nil
        for _ in 0..<count {
            guard let element = try parseValue(at: &position, depth: depth, attributes: &nestedAttributes) else {
                return nil
            }
            elements.append(element)
        }
        return elements
    }

    private func parseEntries(
        at position: inout Int,
        count: Int,
        depth: Int
    ) throws(RESPDecodingError) -> [RESPMapEntry]? {
        var entries: [RESPMapEntry] = []
        entries.reserveCapacity(plausibleCapacity(count, bytesPerItem: 6, from: position))
        var nestedAttributes: [RESPMapEntry]? = nil
        for _ in 0..<count {
            guard let key = try parseValue(at: &position, depth: depth, attributes: &nestedAttributes),
                let value = try parseValue(at: &position, depth: depth, attributes: &nestedAttributes)
            else { return nil }
            entries.append(RESPMapEntry(key: key, value: value))
        }
        return entries
    }

    // MARK: Helpers

    private func isDigit(_ byte: UInt8) -> Bool {
        byte &- UInt8(ascii: "0") < 10
    }

    /// The bytes as UTF-8 text; invalid sequences become U+FFFD rather than failing the frame.
    private func text(_ range: Range<Int>) -> String {
        String(decoding: UnsafeRawBufferPointer(rebasing: bytes[range]), as: UTF8.self)
    }

    /// `0x3F ('?')` for printable ASCII, `0x0D` otherwise.
    private func describe(_ byte: UInt8) -> String {
        let hex = String(byte, radix: 16, uppercase: true)
        let padded = byte < 0x10 ? "0x0" + hex : "0x" + hex
        guard byte >= 0x20 && byte < 0x7F else {
            return padded
        }
        return "\(padded) ('\(Character(Unicode.Scalar(byte)))')"
    }

    /// The first bytes of `range`, quoted, with non-printable bytes escaped, for error details.
    private func excerpt(_ range: Range<Int>) -> String {
        let shown = range.prefix(32)
        var result = "\""
        for index in shown {
            let byte = bytes[index]
            if byte >= 0x20 && byte < 0x7F && byte != UInt8(ascii: "\"") && byte != UInt8(ascii: "\\") {
                result.append(Character(Unicode.Scalar(byte)))
            } else {
                let hex = String(byte, radix: 16, uppercase: true)
                result += byte < 0x10 ? "\\x0" + hex : "\\x" + hex
            }
        }
        result += shown.count < range.count ? "\"..." : "\""
        return result
    }
}
