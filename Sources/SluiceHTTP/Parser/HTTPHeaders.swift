/// Header fields in the order they were received, names spelled as sent.
///
/// Lookups compare names case-insensitively (RFC 9110 §5.1). Values are stored without the whitespace around
/// them; several lines with the same name stay separate entries.
///
/// ```swift
/// var headers = HTTPHeaders([("Host", "example.com"), ("Accept", "text/html"), ("accept", "application/json")])
/// headers.first(name: "host")     // "example.com"
/// headers.all(name: "ACCEPT")     // ["text/html", "application/json"]
/// headers.append(name: "X-Request-Id", value: "42")
/// for field in headers { print(field.name, field.value) }
/// ```
public struct HTTPHeaders: Sendable, Equatable, RandomAccessCollection, CustomStringConvertible {
    /// One field line: a name and its value.
    public struct Field: Sendable, Hashable {
        /// The field name as sent, e.g. `Content-Type`.
        public var name: String
        /// The value without leading or trailing whitespace. Bytes that are not valid UTF-8 (obs-text) are kept
        /// one character per byte (ISO-8859-1), so no byte is lost; ``valueIsLatin1`` says so.
        public var value: String
        /// True when the value as received was not valid UTF-8 and `value` holds its bytes one character
        /// each (ISO-8859-1): writing the field back out then gives those bytes, not their UTF-8.
        public var valueIsLatin1: Bool

        /// Creates a field; a `valueIsLatin1` value must hold only characters up to U+00FF.
        public init(name: String, value: String, valueIsLatin1: Bool = false) {
            self.name = name
            self.value = value
            self.valueIsLatin1 = valueIsLatin1
        }
    }

    private var fields: [Field]

    /// Creates headers from `(name, value)` pairs, in order.
    ///
    /// ```swift
    /// let headers = HTTPHeaders([("Host", "localhost"), ("Content-Length", "3")])
    /// ```
    public init(_ fields: [(String, String)] = []) {
        self.fields = fields.map { Field(name: $0.0, value: $0.1) }
    }

    /// The position of the first field.
    public var startIndex: Int { fields.startIndex }

    /// The position after the last field.
    public var endIndex: Int { fields.endIndex }

    /// The field at `position`.
    public subscript(position: Int) -> Field { fields[position] }

    /// Makes room for `count` fields, so that a head's fields are appended without the array growing field by field.
    mutating func reserveCapacity(_ count: Int) {
        fields.reserveCapacity(count)
    }

    /// Adds a field after the existing ones.
    public mutating func append(name: String, value: String) {
        fields.append(Field(name: name, value: value))
    }

    /// Adds a field read from a message, its value decoded by ``HTTPSyntax/fieldValue(_:)``.
    mutating func append(name: String, value: (text: String, isLatin1: Bool)) {
        fields.append(Field(name: name, value: value.text, valueIsLatin1: value.isLatin1))
    }

    /// The value of the first field called `name` (any case), or nil.
    public func first(name: String) -> String? {
        fields.first { HTTPSyntax.equalsIgnoringCase($0.name, name) }?.value
    }

    /// The values of every field called `name` (any case), in order.
    public func all(name: String) -> [String] {
        fields.compactMap { HTTPSyntax.equalsIgnoringCase($0.name, name) ? $0.value : nil }
    }

    /// True when at least one field is called `name` (any case).
    public func contains(name: String) -> Bool {
        fields.contains { HTTPSyntax.equalsIgnoringCase($0.name, name) }
    }

    /// The fields as `Name: value` lines, for logs and test failures.
    public var description: String {
        fields.map { "\($0.name): \($0.value)" }.joined(separator: "\n")
    }
}
