/// The reason ``RESPDecoder`` rejected its input: malformed RESP or a configured limit exceeded.
///
/// The connection that produced the bytes cannot be resynchronised after this error and should be closed.
///
/// ```swift
/// do {
///     _ = try decoder.decode(buffer, offset: &offset)
/// } catch {
///     print(error)  // RESP decoding failed at byte 0: unknownType (type byte 0x3F ('?'))
/// }
/// ```
public struct RESPDecodingError: Error, Sendable, Hashable, CustomStringConvertible {
    /// What kind of problem was found.
    public enum Code: Sendable, Hashable {
        /// The type byte is not one of `+ - : $ * _ , # ( ! = % ~ > |`.
        case unknownType
        /// A length prefix is not a decimal integer, is negative (other than the RESP2 null `-1`), or is `?`
        /// (streamed RESP3 types are not supported).
        case invalidLength
        /// An integer (`:`) is empty, contains a non-digit, or overflows `Int64`.
        case invalidInteger
        /// A double (`,`) is not a decimal float, `inf`, `-inf` or `nan`.
        case invalidDouble
        /// A boolean (`#`) is not exactly `t` or `f`.
        case invalidBoolean
        /// A big number (`(`) is not an optional `-` followed by decimal digits.
        case invalidBigNumber
        /// A line or a bulk payload is not terminated by CRLF, or a null (`_`) carries text.
        case missingCRLF
        /// A verbatim string (`=`) is not a 3-byte format, a `:` and the text.
        case invalidVerbatim
        /// Aggregates are nested deeper than ``RESPDecoderLimits/maxDepth``.
        case depthLimitExceeded
        /// A bulk string, bulk error or verbatim string is longer than ``RESPDecoderLimits/maxBulkLength``.
        case bulkLengthLimitExceeded
        /// An aggregate declares more elements than ``RESPDecoderLimits/maxAggregateCount``.
        case aggregateLimitExceeded
        /// A line is longer than ``RESPDecoderLimits/maxLineLength``.
        case lineTooLong
    }

    /// What kind of problem was found.
    public var code: Code
    /// The byte offset, in the buffer passed to the decoder, where the problem is.
    public var offset: Int
    /// What was found, e.g. `"type byte 0x3F ('?')"`.
    public var detail: String

    /// Creates an error.
    public init(code: Code, offset: Int, detail: String) {
        self.code = code
        self.offset = offset
        self.detail = detail
    }

    /// `"RESP decoding failed at byte N: <code> (<detail>)"`.
    public var description: String {
        "RESP decoding failed at byte \(offset): \(code) (\(detail))"
    }
}
