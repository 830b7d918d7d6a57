/// A request line and its header section, with the facts the server needs already worked out: routing path,
/// host, body framing, keep-alive and `Expect: 100-continue`.
///
/// Heads come from ``HTTPRequestParser``, which has checked them against RFC 9112: a head you receive always
/// has a supported version, a valid target, exactly one valid `Host` (HTTP/1.1) and unambiguous framing.
/// The derived properties are computed once, when parsed; editing ``headers`` later does not change them.
///
/// ```swift
/// if case .head(let head) = part {
///     print(head.method, head.path, head.host ?? "-", head.keepAlive)
///     let apiKey = head.headers.first(name: "X-API-Key")
/// }
/// ```
public struct HTTPRequestHead: Sendable, Equatable {
    /// The method as sent (a token; methods are case-sensitive), e.g. `GET`.
    public var method: String
    /// The request-target as sent, e.g. `/api/v1/items?page=2`, `http://example.com/x`, `*` or `example.com:443`.
    public var target: String
    /// The protocol version.
    public var version: HTTPVersion
    /// The header fields in order, names as sent.
    public var headers: HTTPHeaders
    /// The target's path without the query, for routing: `/api/v1/items` for origin-form and absolute-form
    /// targets (`/` when an absolute-form target has no path), the target itself for `*` and for `CONNECT`'s
    /// `host:port`. Not percent-decoded.
    public var path: String
    /// The authority the request is for, `host[:port]` as sent: from an absolute-form target when there is one
    /// (RFC 9112 §3.2.2 says it wins over `Host`), otherwise from `Host`. Nil when neither names one.
    public var host: String?
    /// Whether the connection may carry another request after this one: HTTP/1.1 unless a `Connection` field
    /// lists `close`; HTTP/1.0 only when a `Connection` field lists `keep-alive` and none lists `close`.
    public var keepAlive: Bool
    /// True when an HTTP/1.1 client sent `Expect: 100-continue` and waits for an interim `100 Continue` before
    /// sending the body. The parser writes nothing: answering is the caller's job.
    public var expectsContinue: Bool
    /// How the body is delimited; ``HTTPBodyFraming/none`` means the request has no body.
    public var bodyFraming: HTTPBodyFraming
}
