/// A status line and its header section, with body framing and connection reuse already worked out.
///
/// Heads come from ``HTTPResponseParser``, which has checked them against RFC 9112: a head you receive always
/// has a supported version, a status code from 100 to 599 and unambiguous framing. The derived properties are
/// computed once, when parsed; editing ``headers`` later does not change them.
///
/// ```swift
/// if case .head(let head) = part, !head.isInterim {
///     print(head.status, head.reason, head.bodyFraming, head.keepAlive)
///     let type = head.headers.first(name: "Content-Type")
/// }
/// ```
public struct HTTPResponseHead: Sendable, Equatable {
    /// The status code, 100 to 599.
    public var status: Int
    /// The reason phrase as sent, possibly empty, e.g. `Not Found`. Carries no meaning (RFC 9112 §4).
    public var reason: String
    /// The protocol version.
    public var version: HTTPVersion
    /// The header fields in order, names as sent.
    public var headers: HTTPHeaders
    /// Whether the connection may carry another response after this one: HTTP/1.1 unless a `Connection` field
    /// lists `close`; HTTP/1.0 only when a `Connection` field lists `keep-alive` and none lists `close`. Always
    /// false for an ``HTTPResponseBodyFraming/untilClose`` body, for a response framed by both
    /// `Transfer-Encoding` and `Content-Length`, and after `101 Switching Protocols` or a 2xx answer to `CONNECT`
    /// (the connection is no longer HTTP).
    public var keepAlive: Bool
    /// How the body is delimited; ``HTTPResponseBodyFraming/none`` means the response has no body.
    public var bodyFraming: HTTPResponseBodyFraming

    /// True for an interim response (1xx other than `101 Switching Protocols`, e.g. `100 Continue` or
    /// `103 Early Hints`): the final response to the same request follows it.
    public var isInterim: Bool {
        status < 200 && status != 101
    }
}
