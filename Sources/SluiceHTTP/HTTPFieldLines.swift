import SluiceNet

/// Header fields to send, kept in wire form (`Name: value` lines, each ending in CRLF): a
/// response's fields go out with one copy, and a number is written as digits without becoming a
/// `String` first. Names and values are sent as given; they must not contain CR or LF.
///
/// ```swift
/// var fields: HTTPFieldLines = [("Content-Type", "application/json")]
/// fields.append(name: "X-RateLimit-Remaining", value: 99)
/// fields.pairs  // [("Content-Type", "application/json"), ("X-RateLimit-Remaining", "99")]
/// ```
public struct HTTPFieldLines: Sendable, Equatable, ExpressibleByArrayLiteral {
    /// The lines as they are written.
    private(set) var bytes: [UInt8] = []

    /// No fields.
    public init() {}

    /// The fields `write` writes, straight into storage of at most `capacity` bytes: fields
    /// built for every request take one allocation and no intermediate strings. Writing past
    /// `capacity` stops the program, so size it from the names and values.
    ///
    /// ```swift
    /// let fields = HTTPFieldLines(capacity: 64) { lines in
    ///     lines.append(name: "X-RateLimit-Limit", value: 100)
    ///     lines.append(name: "X-RateLimit-Remaining", value: 99)
    /// }
    /// ```
    public init(capacity: Int, _ write: (inout Writer) -> Void) {
        // Written on the stack, then copied into an array made for what was written:
        // `[UInt8](unsafeUninitializedCapacity:)` is not specialized and looks the array's storage
        // type up at run time, which cost more than writing the fields.
        bytes = withUnsafeTemporaryAllocation(of: UInt8.self, capacity: capacity) { storage in
            var writer = Writer(storage: storage)
            write(&writer)
            return Array(UnsafeBufferPointer(rebasing: storage[..<writer.count]))
        }
    }

    /// Writes field lines into the storage of ``init(capacity:_:)``.
    public struct Writer: ~Copyable {
        private let storage: UnsafeMutableBufferPointer<UInt8>
        fileprivate private(set) var count = 0

        fileprivate init(storage: UnsafeMutableBufferPointer<UInt8>) {
            self.storage = storage
        }

        /// Writes `name: value`.
        public mutating func append(name: StaticString, value: Int64) {
            write(name)
            write(UInt8(ascii: ":"), UInt8(ascii: " "))
            count += DecimalDigits.write(signed: value, into: UnsafeMutableBufferPointer(rebasing: storage[count...]))
            write(UInt8(ascii: "\r"), UInt8(ascii: "\n"))
        }

        /// Writes `name: value`.
        public mutating func append(name: StaticString, value: String) {
            write(name)
            write(UInt8(ascii: ":"), UInt8(ascii: " "))
            var value = value
            value.withUTF8 { write(UnsafeRawBufferPointer($0)) }
            write(UInt8(ascii: "\r"), UInt8(ascii: "\n"))
        }

        /// Writes two bytes (a separator, a line end) by storing them: a copy's call costs more.
        private mutating func write(_ first: UInt8, _ second: UInt8) {
            reserve(2)
            storage[count] = first
            storage[count + 1] = second
            count += 2
        }

        private mutating func write(_ text: StaticString) {
            write(UnsafeRawBufferPointer(start: text.utf8Start, count: text.utf8CodeUnitCount))
        }

        private mutating func write(_ bytes: UnsafeRawBufferPointer) {
            reserve(bytes.count)
            UnsafeMutableRawBufferPointer(start: storage.baseAddress! + count, count: bytes.count).copyMemory(
                from: bytes)
            count += bytes.count
        }

        private func reserve(_ byteCount: Int) {
            precondition(storage.count - count >= byteCount, "HTTPFieldLines capacity \(storage.count) is too small")
        }
    }

    /// The fields of `pairs`, in order.
    public init(_ pairs: [(String, String)]) {
        for (name, value) in pairs { append(name: name, value: value) }
    }

    /// Fields written as a list of `(name, value)` pairs.
    public init(arrayLiteral pairs: (String, String)...) {
        self.init(pairs)
    }

    /// True when there is no field.
    public var isEmpty: Bool { bytes.isEmpty }

    /// Makes room for `byteCount` bytes of field lines in all, so that appending them allocates once.
    ///
    /// ```swift
    /// var lines = HTTPFieldLines()
    /// lines.reserveCapacity(upstreamHead.headers.fieldLineBytes)
    /// upstreamHead.headers.forEachEndToEndField { lines.append($0) }
    /// ```
    public mutating func reserveCapacity(_ byteCount: Int) {
        bytes.reserveCapacity(byteCount)
    }

    /// Adds `name: value`.
    public mutating func append(name: String, value: String) {
        bytes.appendFieldLine(name: name, value: value)
    }

    /// Adds a received field as it came (see ``Swift/Array/appendFieldLine(_:)``).
    public mutating func append(_ field: HTTPHeaders.Field) {
        bytes.appendFieldLine(field)
    }

    /// Adds `name: value` with the value in decimal.
    public mutating func append(name: String, value: Int64) {
        bytes.appendUTF8(name)
        bytes.append(literal: ": ")
        bytes.appendDecimal(value)
        bytes.append(literal: "\r\n")
    }

    /// Adds the fields of `other` after these.
    public mutating func append(contentsOf other: HTTPFieldLines) {
        if bytes.isEmpty {
            bytes = other.bytes  // shares the other's storage: the common case, no copy
        } else {
            bytes += other.bytes
        }
    }

    /// The fields as `(name, value)` pairs, in order: for tests and logs.
    public var pairs: [(String, String)] {
        String(decoding: bytes, as: UTF8.self).split(separator: "\r\n").map { line -> (String, String) in
            guard let separator = line.firstRange(of: ": ") else { return (String(line), "") }
            return (String(line[..<separator.lowerBound]), String(line[separator.upperBound...]))
        }
    }
}

extension Array where Element == UInt8 {
    /// Appends the field line `name: value` and its CRLF; the name and value must not contain CR or LF.
    ///
    /// ```swift
    /// var head = Array("GET / HTTP/1.1\r\n".utf8)
    /// head.appendFieldLine(name: "Host", value: "example.com")
    /// ```
    public mutating func appendFieldLine(name: String, value: String) {
        appendUTF8(name)
        append(literal: ": ")
        appendUTF8(value)
        append(literal: "\r\n")
    }

    /// Appends a field's line as it was received: a value read as ISO-8859-1 (not valid UTF-8) goes
    /// out as the bytes it came in, not as their UTF-8. A value flagged so but holding a character
    /// past U+00FF (changed since it was read) goes out as UTF-8: cut to a byte, such a character
    /// could become a CR or LF.
    ///
    /// ```swift
    /// var head = Array("GET / HTTP/1.1\r\n".utf8)
    /// head.appendFieldLine(HTTPHeaders.Field(name: "X-Name", value: "caf\u{E9}", valueIsLatin1: true))  // 0xE9
    /// ```
    public mutating func appendFieldLine(_ field: HTTPHeaders.Field) {
        guard field.valueIsLatin1, field.value.unicodeScalars.allSatisfy({ $0.value <= 0xFF }) else {
            return appendFieldLine(name: field.name, value: field.value)
        }
        appendUTF8(field.name)
        append(literal: ": ")
        for scalar in field.value.unicodeScalars { append(UInt8(truncatingIfNeeded: scalar.value)) }
        append(literal: "\r\n")
    }
}
