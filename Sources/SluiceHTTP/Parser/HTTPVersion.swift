/// The protocol version of a request or response: the two versions Sluice speaks.
///
/// Any other well-formed version (`HTTP/2.0`, `HTTP/0.9`) is rejected by ``HTTPRequestParser`` with 505, and by
/// ``HTTPResponseParser`` with 502.
///
/// ```swift
/// if head.version == .http1_0 { print("old client") }
/// ```
public enum HTTPVersion: Sendable, Hashable, CustomStringConvertible {
    /// `HTTP/1.0`: connections close after each request unless the client asks for keep-alive.
    case http1_0
    /// `HTTP/1.1`: connections stay open unless either side sends `Connection: close`.
    case http1_1

    /// The version as written on the wire, e.g. `HTTP/1.1`.
    public var description: String {
        switch self {
        case .http1_0: "HTTP/1.0"
        case .http1_1: "HTTP/1.1"
        }
    }
}
