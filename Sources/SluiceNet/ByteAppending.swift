/// Appending text to a byte buffer without building `String`s: the wire formats (HTTP heads,
/// RESP commands) are written straight into the bytes that go out.
///
/// ```swift
/// var bytes: [UInt8] = []
/// bytes.appendUTF8("Content-Length: ")
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

    /// Appends the decimal text of `value` (`-12` → `-12`).
    public mutating func appendDecimal(_ value: Int64) {
        if value < 0 {
            append(UInt8(ascii: "-"))
        }
        var magnitude = value.magnitude
        if magnitude < 10 {  // lengths and small arguments: the common case
            append(UInt8(ascii: "0") + UInt8(truncatingIfNeeded: magnitude))
            return
        }
        // Digits from the last, into a stack buffer as long as the longest Int64, then appended at once.
        withUnsafeTemporaryAllocation(of: UInt8.self, capacity: 20) { digits in
            var start = digits.count
            repeat {
                start -= 1
                digits[start] = UInt8(ascii: "0") + UInt8(truncatingIfNeeded: magnitude % 10)
                magnitude /= 10
            } while magnitude > 0
            append(contentsOf: UnsafeBufferPointer(rebasing: digits[start...]))
        }
    }

    /// Appends the decimal text of `value`.
    @inlinable
    public mutating func appendDecimal(_ value: Int) {
        appendDecimal(Int64(value))
    }
}
