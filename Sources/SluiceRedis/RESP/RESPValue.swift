/// One key/value pair of a RESP3 map or attribute.
///
/// Maps are kept as a list of entries in wire order rather than a dictionary: RESP3 allows any value
/// (even an aggregate) as a key, and replies such as `HELLO` are easier to read in server order.
public struct RESPMapEntry: Sendable, Hashable {
    /// The entry's key.
    public var key: RESPValue
    /// The entry's value.
    public var value: RESPValue

    /// Creates a map entry.
    ///
    /// ```swift
    /// let entry = RESPMapEntry(key: .simpleString("server"), value: .bulkString(Array("redis".utf8)))
    /// ```
    public init(key: RESPValue, value: RESPValue) {
        self.key = key
        self.value = value
    }
}

/// One RESP2 or RESP3 value, as decoded by ``RESPDecoder`` or encoded by ``RESPEncoder``.
///
/// RESP2 nulls (`$-1`, `*-1`) and the RESP3 null (`_`) all map to ``null``, so callers need not care
/// which protocol version the server speaks.
///
/// ```swift
/// switch reply {
/// case .integer(let count): print("counter is \(count)")
/// case .simpleError(let message): print("server said \(message)")
/// default: break
/// }
/// ```
public enum RESPValue: Sendable, Hashable {
    /// A simple string (`+OK`).
    case simpleString(String)
    /// A simple error (`-ERR ...`): the whole line, e.g. `"NOSCRIPT No matching script"`.
    case simpleError(String)
    /// A signed 64-bit integer (`:`).
    case integer(Int64)
    /// A binary-safe bulk string (`$`).
    case bulkString([UInt8])
    /// The RESP3 null (`_`) or a RESP2 null bulk string or array (`$-1`, `*-1`).
    case null
    /// An array (`*`).
    case array([RESPValue])
    /// A double (`,`), including `inf`, `-inf` and `nan`.
    case double(Double)
    /// A boolean (`#t` / `#f`).
    case boolean(Bool)
    /// A big number (`(`): decimal digits with an optional leading `-`, kept as text.
    case bigNumber(String)
    /// A bulk error (`!`): an error whose text may contain any bytes.
    case bulkError(String)
    /// A verbatim string (`=`): `format` is the 3-byte prefix (e.g. `"txt"`, `"mkd"`), `text` the rest.
    case verbatimString(format: String, text: String)
    /// A map (`%`) of key/value pairs in wire order.
    case map([RESPMapEntry])
    /// A set (`~`), in wire order.
    case set([RESPValue])
    /// An out-of-band push message (`>`), e.g. pub/sub or client tracking invalidations.
    case push([RESPValue])
}

extension RESPValue {
    /// The error text when this is a ``simpleError(_:)`` or ``bulkError(_:)``, else `nil`.
    ///
    /// ```swift
    /// if let message = reply.errorMessage, message.hasPrefix("NOSCRIPT") { reloadScript() }
    /// ```
    public var errorMessage: String? {
        switch self {
        case .simpleError(let message), .bulkError(let message):
            return message
        default:
            return nil
        }
    }

    /// A string view of a ``simpleString(_:)``, ``bulkString(_:)`` (decoded as UTF-8, invalid bytes replaced)
    /// or the text of a ``verbatimString(format:text:)``; `nil` for any other value.
    ///
    /// ```swift
    /// let sha = reply.string  // reply to SCRIPT LOAD
    /// ```
    public var string: String? {
        switch self {
        case .simpleString(let text):
            return text
        case .bulkString(let bytes):
            return String(decoding: bytes, as: UTF8.self)
        case .verbatimString(_, let text):
            return text
        default:
            return nil
        }
    }

    /// An integer view of an ``integer(_:)``, or of a ``bulkString(_:)`` or ``simpleString(_:)`` holding a decimal
    /// integer (optional `-`, digits only, within `Int64`); `nil` otherwise.
    ///
    /// ```swift
    /// let remaining = reply.int ?? 0  // works for `:5` and for `$1\r\n5`
    /// ```
    public var int: Int64? {
        switch self {
        case .integer(let value):
            return value
        case .bulkString(let bytes):
            return bytes.withUnsafeBytes { RESPDecoder.decimalValue(of: $0) }
        case .simpleString(var text):
            return text.withUTF8 { RESPDecoder.decimalValue(of: UnsafeRawBufferPointer($0)) }
        default:
            return nil
        }
    }
}
