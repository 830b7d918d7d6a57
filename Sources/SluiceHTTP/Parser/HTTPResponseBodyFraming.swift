/// How the body of a response is delimited on the wire (RFC 9112 §6.3).
///
/// ```swift
/// switch head.bodyFraming {
/// case .none: print("no body")
/// case .contentLength(let length): print("\(length) bytes")
/// case .chunked: print("chunked, length unknown")
/// case .untilClose: print("body ends when the upstream closes the connection")
/// }
/// ```
public enum HTTPResponseBodyFraming: Sendable, Hashable {
    /// The response has no body: a 1xx, 204 or 304 status, an answer to `HEAD`, or a 2xx answer to `CONNECT`.
    /// A `Content-Length` it carries describes the body it would have had.
    case none
    /// The body is exactly this many bytes (`Content-Length`); `0` means an empty body.
    case contentLength(Int64)
    /// The body uses the chunked transfer coding; its length is known only when the last chunk arrives.
    case chunked
    /// Neither `Content-Length` nor `Transfer-Encoding` was sent: the body runs until the upstream closes the
    /// connection (``HTTPResponseParser/peerClosed()`` ends it), so the connection cannot be reused.
    case untilClose
}
