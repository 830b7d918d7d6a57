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
        let digits = number.map(DecimalDigits.count(signed:)) ?? 0
        let count = first.utf8.count + second.utf8.count + third.utf8.count + fourth.utf8.count + digits
        return String(unsafeUninitializedCapacity: count) { key in
            var end = key.initialize(at: 0, from: first.utf8)
            end = key.initialize(at: end, from: second.utf8)
            end = key.initialize(at: end, from: third.utf8)
            end = key.initialize(at: end, from: fourth.utf8)
            guard let number else { return end }
            return end + DecimalDigits.write(signed: number, into: UnsafeMutableBufferPointer(rebasing: key[end...]))
        }
    }
}
