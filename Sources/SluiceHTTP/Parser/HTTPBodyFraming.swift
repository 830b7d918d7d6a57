/// How the body of a request is delimited on the wire (RFC 9112 §6.3).
///
/// ```swift
/// switch head.bodyFraming {
/// case .none: print("no body")
/// case .contentLength(let length): print("\(length) bytes")
/// case .chunked: print("chunked, length unknown")
/// }
/// ```
public enum HTTPBodyFraming: Sendable, Hashable {
    /// The request has no body: neither `Content-Length` nor `Transfer-Encoding` was sent.
    case none
    /// The body is exactly this many bytes (`Content-Length`); `0` means an empty body.
    case contentLength(Int64)
    /// The body uses the chunked transfer coding; its length is known only when the last chunk arrives.
    case chunked
}
