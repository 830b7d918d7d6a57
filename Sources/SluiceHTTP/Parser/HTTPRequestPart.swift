/// One piece of a request, as ``HTTPRequestParser`` hands it out.
///
/// Every request yields exactly one `.head`, then zero or more `.body` pieces, then one `.end`.
///
/// ```swift
/// switch part {
/// case .head(let head): route(head)
/// case .body(let bytes): forward(bytes)
/// case .end: finish()
/// }
/// ```
public enum HTTPRequestPart: Sendable, Equatable {
    /// The request line and header fields.
    case head(HTTPRequestHead)
    /// Body bytes, never empty, with any chunked framing removed. A piece holds at most the bytes that were
    /// available in the buffer passed to that call, so bodies stream through without being collected.
    case body([UInt8])
    /// The request is complete (body and trailer fields, if any, consumed); the next request may follow.
    case end
}
