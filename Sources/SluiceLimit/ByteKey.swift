import Glibc

/// A store key compared and hashed by its UTF-8 bytes, as Redis and the memory store tell keys
/// apart. Swift's `String` equality and hashing treat canonically equivalent texts as one (é as
/// one code point, or as e and a combining accent), so keyed by `String` two clients' keys could
/// share a batch of checks or a cached denial.
///
/// ```swift
/// ByteKey("caf\u{E9}") == ByteKey("cafe\u{301}")  // false, though the strings are equal
/// ```
struct ByteKey: Hashable {
    let text: String

    init(_ text: String) {
        self.text = text
    }

    static func == (lhs: ByteKey, rhs: ByteKey) -> Bool {
        var (left, right) = (lhs.text, rhs.text)
        return left.withUTF8 { left in
            right.withUTF8 { right in
                left.count == right.count
                    && (left.isEmpty || memcmp(left.baseAddress!, right.baseAddress!, left.count) == 0)
            }
        }
    }

    func hash(into hasher: inout Hasher) {
        var text = text
        text.withUTF8 { hasher.combine(bytes: UnsafeRawBufferPointer($0)) }
    }
}
