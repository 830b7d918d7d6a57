/// Appending text to a byte buffer without building `String`s: the wire formats (HTTP heads,
/// RESP commands) are written straight into the bytes that go out.
///
/// ```swift
/// var bytes: [UInt8] = []
/// bytes.append(literal: "Content-Length: ")
/// bytes.appendDecimal(1_024)
/// // bytes == Array("Content-Length: 1024".utf8)
/// ```
extension Array where Element == UInt8 {
    /// Appends a string's UTF-8 bytes in one copy: a native string's bytes are contiguous (a
    /// small one's are copied to the stack first), so this is a `memcpy`, not a walk of the view.
    @inlinable
    public mutating func appendUTF8(_ text: String) {
        let appended: Void? = text.utf8.withContiguousStorageIfAvailable { append(contentsOf: $0) }
        if appended == nil {
            append(contentsOf: text.utf8)
        }
    }

    /// Appends a literal's UTF-8 bytes, copied from the program's constant data: none of the
    /// checks a `String` needs before its bytes can be copied (field names and separators, written
    /// for every response).
    @inlinable
    public mutating func append(literal text: StaticString) {
        text.withUTF8Buffer { append(contentsOf: $0) }
    }

    /// Appends the decimal text of `value` (`-12` → `-12`).
    public mutating func appendDecimal(_ value: Int64) {
        if (0..<10).contains(value) {  // lengths and small arguments: the common case
            append(UInt8(ascii: "0") + UInt8(truncatingIfNeeded: value))
            return
        }
        // Into a stack buffer as long as the longest Int64 with its sign, then appended at once.
        withUnsafeTemporaryAllocation(of: UInt8.self, capacity: 20) { text in
            append(contentsOf: UnsafeBufferPointer(rebasing: text[..<DecimalDigits.write(signed: value, into: text)]))
        }
    }

    /// Appends the decimal text of `value`.
    @inlinable
    public mutating func appendDecimal(_ value: Int) {
        appendDecimal(Int64(value))
    }
}

/// The decimal digits of an integer, counted or written into memory the caller owns: the one
/// formatter behind `appendDecimal`, RESP lengths and the rate-limit header values.
///
/// ```swift
/// DecimalDigits.count(1_024)  // 4
/// ```
public enum DecimalDigits {
    /// "00" to "99": digits are written two at a time, halving the divisions (header values
    /// such as a reset time have ten digits, and a limited answer writes three or four).
    private static let pairs: StaticString =
        "00010203040506070809101112131415161718192021222324252627282930313233343536373839404142434445464748495051525354555657585960616263646566676869707172737475767778798081828384858687888990919293949596979899"

    /// How many digits `magnitude` has (1 for 0), by comparison with powers of ten rather than
    /// by division.
    public static func count(_ magnitude: UInt64) -> Int {
        var count = 1
        var power: UInt64 = 10
        while magnitude >= power {
            count += 1
            // 10^19 is the largest power of ten a UInt64 holds; anything at or above it has 20 digits.
            guard count < 20 else { return 20 }
            power &*= 10
        }
        return count
    }

    /// How many bytes the decimal text of `value` takes, with its `-` when it is negative.
    @inlinable
    public static func count(signed value: Int64) -> Int {
        count(value.magnitude) + (value < 0 ? 1 : 0)
    }

    /// Writes the decimal text of `value`, `-` first when it is negative, at the start of
    /// `buffer`, which must hold ``count(signed:)`` bytes; returns how many it wrote.
    @inlinable
    public static func write(signed value: Int64, into buffer: UnsafeMutableBufferPointer<UInt8>) -> Int {
        guard value < 0 else { return write(value.magnitude, into: buffer) }
        precondition(!buffer.isEmpty, "no room for the sign of \(value)")
        buffer[0] = UInt8(ascii: "-")
        return 1 + write(value.magnitude, into: UnsafeMutableBufferPointer(rebasing: buffer[1...]))
    }

    /// Writes the digits of `magnitude` at the start of `buffer`, which must hold
    /// ``count(_:)`` bytes, and returns how many it wrote.
    public static func write(_ magnitude: UInt64, into buffer: UnsafeMutableBufferPointer<UInt8>) -> Int {
        let length = count(magnitude)
        precondition(buffer.count >= length, "\(length) digits do not fit in \(buffer.count) bytes")
        let pairs = Self.pairs.utf8Start
        var rest = magnitude
        var index = length
        while rest >= 10 {  // from the last two digits
            let pair = Int(truncatingIfNeeded: rest % 100) &* 2
            rest /= 100
            index &-= 2
            buffer[index] = pairs[pair]
            buffer[index &+ 1] = pairs[pair &+ 1]
        }
        if index > 0 {  // an odd count leaves one leading digit
            buffer[0] = UInt8(ascii: "0") &+ UInt8(truncatingIfNeeded: rest)
        }
        return length
    }
}

extension UnsafeMutableBufferPointer where Element == UInt8 {
    /// Initializes the bytes from `offset` on with `bytes` and returns where they end: one
    /// `memcpy` when their storage is contiguous (a native string's UTF-8, a small one's copied
    /// to the stack first; an array), where initializing from a string's UTF-8 view walks it.
    ///
    /// ```swift
    /// withUnsafeTemporaryAllocation(of: UInt8.self, capacity: 8) { buffer in
    ///     let end = buffer.initialize(at: 0, from: "key:".utf8)  // 4
    ///     _ = buffer.initialize(at: end, from: [UInt8(ascii: "7")])  // 5
    /// }
    /// ```
    @inlinable
    public func initialize<Bytes: Collection<UInt8>>(at offset: Int, from bytes: Bytes) -> Int {
        let copied = bytes.withContiguousStorageIfAvailable { source in
            UnsafeMutableBufferPointer(rebasing: self[offset...]).initialize(fromContentsOf: source)
        }
        return copied.map { offset + $0 } ?? self[offset...].initialize(fromContentsOf: bytes)
    }
}
