/// Store keys built from their parts in one allocation: keys are made for every check, and
/// string interpolation costs twice as much (a variadic list, with its array, as much again).
///
/// ```swift
/// KeyText.join("sluice", ":", "api:{203.0.113.7}")  // "sluice:api:{203.0.113.7}"
/// ```
enum KeyText {
    /// The parts one after another.
    static func join(_ first: String, _ second: String, _ third: String = "", _ fourth: String = "") -> String {
        let count = first.utf8.count + second.utf8.count + third.utf8.count + fourth.utf8.count
        return String(unsafeUninitializedCapacity: count) { key in
            var end = key[...].initialize(fromContentsOf: first.utf8)
            end = key[end...].initialize(fromContentsOf: second.utf8)
            end = key[end...].initialize(fromContentsOf: third.utf8)
            return key[end...].initialize(fromContentsOf: fourth.utf8)
        }
    }
}
