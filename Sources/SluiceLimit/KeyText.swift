import SluiceNet

/// Store keys built from their parts in one allocation: keys are made for every check, and
/// string interpolation costs twice as much (a variadic list, with its array, as much again;
/// `String(Int)` for a number part, another allocation).
///
/// ```swift
/// KeyText.join("sluice", ":", "api:{203.0.113.7}")  // "sluice:api:{203.0.113.7}"
/// KeyText.join("sluice", ":", "api:{203.0.113.7}", ":fw:", number: 29_666)  // "sluice:api:{203.0.113.7}:fw:29666"
/// ```
enum KeyText {
    /// The parts one after another, then the decimal text of `number` if there is one.
    static func join(
        _ first: String, _ second: String, _ third: String = "", _ fourth: String = "", number: Int64? = nil
    ) -> String {
        let sign = number.map { $0 < 0 ? 1 : 0 } ?? 0
        let digits = number.map { DecimalDigits.count($0.magnitude) } ?? 0
        let count = first.utf8.count + second.utf8.count + third.utf8.count + fourth.utf8.count + sign + digits
        return String(unsafeUninitializedCapacity: count) { key in
            var end = copy(first, to: key, at: 0)
            end = copy(second, to: key, at: end)
            end = copy(third, to: key, at: end)
            end = copy(fourth, to: key, at: end)
            guard let number else { return end }
            if sign == 1 {
                key[end] = UInt8(ascii: "-")
                end += 1
            }
            return end + DecimalDigits.write(number.magnitude, into: UnsafeMutableBufferPointer(rebasing: key[end...]))
        }
    }

    /// Copies `part`'s UTF-8 bytes into `key` at `offset` with one `memcpy` (a native string's
    /// bytes are contiguous, a small one's copied to the stack first), where initializing from
    /// the UTF-8 view walks it; returns where the copy ends.
    @inline(__always)
    private static func copy(_ part: String, to key: UnsafeMutableBufferPointer<UInt8>, at offset: Int) -> Int {
        let copied = part.utf8.withContiguousStorageIfAvailable { bytes in
            UnsafeMutableBufferPointer(rebasing: key[offset...]).initialize(fromContentsOf: bytes)
        }
        return offset + (copied ?? key[offset...].initialize(fromContentsOf: part.utf8) - offset)
    }
}
