/// One piece of a response, as ``HTTPResponseParser`` hands it out.
///
/// Every response yields zero or more interim heads (1xx), then its final `.head`, then zero or more `.body`
/// pieces, then one `.end`. No `.end` follows an interim head.
///
/// ```swift
/// switch part {
/// case .head(let head) where head.isInterim: print("interim \(head.status)")
/// case .head(let head): startForwarding(head)
/// case .body(let bytes): forward(bytes)
/// case .end: finish()
/// }
/// ```
public enum HTTPResponsePart: Sendable, Equatable {
    /// The status line and header fields.
    case head(HTTPResponseHead)
    /// Body bytes, never empty, with any chunked framing removed. A piece holds at most the bytes that were
    /// available in the buffer passed to that call, so bodies stream through without being collected.
    case body([UInt8])
    /// The response is complete (body and trailer fields, if any, consumed); the next response may follow.
    case end
}
