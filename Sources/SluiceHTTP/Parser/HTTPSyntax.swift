/// Byte classes and small helpers from RFC 9110 and RFC 9112, shared by the parser and the head's validation.
enum HTTPSyntax {
    static let cr = UInt8(ascii: "\r")
    static let lf = UInt8(ascii: "\n")
    static let space = UInt8(ascii: " ")
    static let tab = UInt8(ascii: "\t")
    static let colon = UInt8(ascii: ":")
    static let semicolon = UInt8(ascii: ";")
    static let equals = UInt8(ascii: "=")
    static let quote = UInt8(ascii: "\"")
    static let backslash = UInt8(ascii: "\\")

    /// `tchar` (RFC 9110 §5.6.2): the bytes of methods, field names and chunk extension names.
    static func isToken(_ byte: UInt8) -> Bool {
        // One bit per ASCII byte: ! # $ % & ' * + - . 0-9 below 0x40; A-Z ^ _ ` a-z | ~ from 0x40.
        let below0x40: UInt64 = 0x03FF_6CFA_0000_0000
        let from0x40: UInt64 = 0x57FF_FFFF_C7FF_FFFE
        return byte < 0x40 ? below0x40 >> byte & 1 == 1 : byte < 0x80 && from0x40 >> (byte - 0x40) & 1 == 1
    }

    /// The index of the first LF in `bytes[range]`, or nil. Looks at eight bytes at a time: this search runs
    /// over every byte of every head.
    static func firstLineFeed(in bytes: UnsafeRawBufferPointer, _ range: Range<Int>) -> Int? {
        var index = range.lowerBound
        if let base = bytes.baseAddress {
            let ones: UInt64 = 0x0101_0101_0101_0101
            while index + 8 <= range.upperBound {
                // A word has a zero byte iff (w - 0x01…) & ~w & 0x80… is non-zero; XOR turns LF into zero.
                let word = base.loadUnaligned(fromByteOffset: index, as: UInt64.self) ^ (ones &* UInt64(lf))
                if (word &- ones) & ~word & (ones &* 0x80) != 0 {
                    break
                }
                index += 8
            }
        }
        while index < range.upperBound {
            if bytes[index] == lf {
                return index
            }
            index += 1
        }
        return nil
    }

    /// `bytes.withUnsafeBytes(body)`, keeping `body`'s typed error (the standard library's version rethrows
    /// `any Error`).
    static func withBytes<Value>(
        of bytes: [UInt8],
        _ body: (UnsafeRawBufferPointer) throws(HTTPParseError) -> Value
    ) throws(HTTPParseError) -> Value {
        try bytes.withUnsafeBytes { buffer in
            Result { () throws(HTTPParseError) -> Value in try body(buffer) }
        }.get()
    }

    /// `SP` or `HTAB`: the whitespace of `OWS` and `BWS`.
    static func isWhitespace(_ byte: UInt8) -> Bool {
        byte == space || byte == tab
    }

    /// `field-vchar`, `SP` or `HTAB`: VCHAR and obs-text (0x80–0xFF) but no control character (NUL, CR, LF, DEL…).
    static func isFieldValueByte(_ byte: UInt8) -> Bool {
        byte == tab || (byte >= space && byte != 0x7F)
    }

    /// A byte of a request-target: visible ASCII except `#` (a fragment is never sent; RFC 9112 §3.2).
    static func isTargetByte(_ byte: UInt8) -> Bool {
        byte > space && byte < 0x7F && byte != UInt8(ascii: "#")
    }

    /// `DIGIT`.
    static func isDigit(_ byte: UInt8) -> Bool {
        byte >= UInt8(ascii: "0") && byte <= UInt8(ascii: "9")
    }

    /// The value of a `HEXDIG` (either case), or nil.
    static func hexValue(_ byte: UInt8) -> UInt8? {
        switch byte {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): byte - UInt8(ascii: "0")
        case UInt8(ascii: "a")...UInt8(ascii: "f"): byte - UInt8(ascii: "a") + 10
        case UInt8(ascii: "A")...UInt8(ascii: "F"): byte - UInt8(ascii: "A") + 10
        default: nil
        }
    }

    /// Compares ASCII case-insensitively, as field names, tokens and codings are compared.
    static func equalsIgnoringCase(_ lhs: some StringProtocol, _ rhs: some StringProtocol) -> Bool {
        guard lhs.utf8.count == rhs.utf8.count else { return false }
        // Native strings compare in place, byte by byte: this runs for header names on every request.
        let inPlace = lhs.utf8.withContiguousStorageIfAvailable { left in
            rhs.utf8.withContiguousStorageIfAvailable { right in
                zip(left, right).allSatisfy { lowercased($0) == lowercased($1) }
            }
        }
        if let inPlace = inPlace ?? nil { return inPlace }
        var other = rhs.utf8.makeIterator()
        for byte in lhs.utf8 where lowercased(byte) != other.next().map(lowercased) {
            return false
        }
        return true
    }

    /// The elements of a comma-separated list field (RFC 9110 §5.6.1), whitespace trimmed, empty ones kept so
    /// framing fields can reject them.
    static func listElements(_ value: String) -> [Substring] {
        var elements: [Substring] = []
        forEachListElement(value) { elements.append($0) }
        return elements
    }

    /// Calls `body` with each element of ``listElements(_:)``, in order, without building the array: the
    /// framing fields of every message are lists, mostly of one element.
    static func forEachListElement<Failure: Error>(
        _ value: String, _ body: (Substring) throws(Failure) -> Void
    ) throws(Failure) {
        let utf8 = value.utf8
        // One element with nothing to trim (a parsed value is stored trimmed): the value itself, found with
        // one scan rather than by stepping string indexes.
        let isOneElement = utf8.withContiguousStorageIfAvailable { bytes in
            !bytes.contains(UInt8(ascii: ",")) && !(bytes.first.map(isWhitespace) ?? false)
                && !(bytes.last.map(isWhitespace) ?? false)
        }
        if isOneElement == true {
            return try body(value[...])
        }
        var start = utf8.startIndex
        while true {
            let end = utf8[start...].firstIndex(of: UInt8(ascii: ",")) ?? utf8.endIndex
            var element = utf8[start..<end]
            while let first = element.first, isWhitespace(first) { element.removeFirst() }
            while let last = element.last, isWhitespace(last) { element.removeLast() }
            try body(value[element.startIndex..<element.endIndex])
            guard end < utf8.endIndex else { return }
            start = utf8.index(after: end)
        }
    }

    /// A non-empty run of decimal digits as an `Int64`, or nil when empty, not all digits, or too large.
    static func decimal(_ text: Substring) -> Int64? {
        guard !text.isEmpty else { return nil }
        var value: Int64 = 0
        for byte in text.utf8 {
            guard isDigit(byte) else { return nil }
            let (shifted, overflowed) = value.multipliedReportingOverflow(by: 10)
            let (sum, carried) = shifted.addingReportingOverflow(Int64(byte - UInt8(ascii: "0")))
            guard !overflowed && !carried else { return nil }
            value = sum
        }
        return value
    }

    /// True when `text` is `uri-host [":" port]` (RFC 9110 §7.2): a bracketed IP literal or a reg-name / IPv4
    /// address, then optional decimal port digits. No userinfo (`@`), path or whitespace.
    static func isValidAuthority(_ text: some StringProtocol, hostRequired: Bool, portRequired: Bool) -> Bool {
        // A native string's bytes are read in place: this runs for the Host of every request.
        text.utf8.withContiguousStorageIfAvailable {
            isValidAuthority(bytes: $0, hostRequired: hostRequired, portRequired: portRequired)
        } ?? isValidAuthority(bytes: Array(text.utf8), hostRequired: hostRequired, portRequired: portRequired)
    }

    private static func isValidAuthority(
        bytes: some RandomAccessCollection<UInt8>, hostRequired: Bool, portRequired: Bool
    ) -> Bool {
        var index = bytes.startIndex
        if bytes.first == UInt8(ascii: "[") {
            guard let close = bytes.firstIndex(of: UInt8(ascii: "]")), bytes.distance(from: index, to: close) > 1 else {
                return false
            }
            guard bytes[bytes.index(after: index)..<close].allSatisfy({ isIPLiteralByte($0) }) else { return false }
            index = bytes.index(after: close)
        } else {
            while index < bytes.endIndex && bytes[index] != colon {
                guard isRegNameByte(bytes[index]) else { return false }
                bytes.formIndex(after: &index)
            }
            guard index > bytes.startIndex || !hostRequired else { return false }
        }
        guard index < bytes.endIndex else { return !portRequired }
        guard bytes[index] == colon else { return false }
        let port = bytes[bytes.index(after: index)...]
        return port.allSatisfy(isDigit) && (!port.isEmpty || !portRequired)
    }

    /// Decodes a field value: UTF-8 when valid, otherwise one character per byte (ISO-8859-1), so obs-text is
    /// never replaced or lost; `isLatin1` tells which.
    static func fieldValue(_ bytes: UnsafeRawBufferPointer) -> (text: String, isLatin1: Bool) {
        if !bytes.contains(where: { $0 >= 0x80 }) {
            return (String(decoding: bytes, as: UTF8.self), false)
        }
        if let text = String(validating: bytes, as: UTF8.self) {
            return (text, false)
        }
        var scalars = String.UnicodeScalarView()
        scalars.append(contentsOf: bytes.map { Unicode.Scalar($0) })
        return (String(scalars), true)
    }

    /// `bytes` in double quotes for an error detail: printable ASCII as is, anything else escaped, long input
    /// shortened to its first `limit` bytes.
    static func quoted(_ bytes: some Collection<UInt8>, limit: Int = 64) -> String {
        var text = "\""
        for byte in bytes.prefix(limit) {
            switch byte {
            case quote: text += "\\\""
            case backslash: text += "\\\\"
            case cr: text += "\\r"
            case lf: text += "\\n"
            case tab: text += "\\t"
            case space..<0x7F: text.unicodeScalars.append(Unicode.Scalar(byte))
            default:
                let hex = String(byte, radix: 16, uppercase: true)
                text += byte < 0x10 ? "\\x0" + hex : "\\x" + hex
            }
        }
        text += "\""
        if bytes.count > limit {
            text += "... (\(bytes.count) bytes)"
        }
        return text
    }

    /// ``quoted(_:limit:)`` for text.
    static func quoted(_ text: some StringProtocol) -> String {
        quoted(text.utf8)
    }

    private static func lowercased(_ byte: UInt8) -> UInt8 {
        byte >= UInt8(ascii: "A") && byte <= UInt8(ascii: "Z") ? byte + 32 : byte
    }

    /// unreserved, sub-delims or `%` (pct-encoded is checked no further: the host is compared, not decoded).
    private static func isRegNameByte(_ byte: UInt8) -> Bool {
        switch byte {
        case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"),
            UInt8(ascii: "0")...UInt8(ascii: "9"):
            true
        case UInt8(ascii: "-"), UInt8(ascii: "."), UInt8(ascii: "_"), UInt8(ascii: "~"), UInt8(ascii: "%"),
            UInt8(ascii: "!"), UInt8(ascii: "$"), UInt8(ascii: "&"), UInt8(ascii: "'"), UInt8(ascii: "("),
            UInt8(ascii: ")"), UInt8(ascii: "*"), UInt8(ascii: "+"), UInt8(ascii: ","), UInt8(ascii: ";"),
            UInt8(ascii: "="):
            true
        default:
            false
        }
    }

    /// The bytes inside `[...]`: IPv6 (hex digits, `:` and `.`) or IPvFuture (`v`, hex, unreserved, sub-delims).
    private static func isIPLiteralByte(_ byte: UInt8) -> Bool {
        byte == colon || isRegNameByte(byte)
    }
}
