/// Bounds that keep a hostile or broken client from making ``HTTPRequestParser`` use unbounded memory or time,
/// and a broken upstream from doing the same to ``HTTPResponseParser``.
///
/// For requests each limit has its own answer: request line 414, header section 431, body 413, the others 400.
/// A response over a limit is answered 502. Responses have no body limit.
///
/// ```swift
/// var limits = HTTPParserLimits()
/// limits.maxBodyLength = 1 << 30  // 1 GiB uploads
/// var parser = HTTPRequestParser(limits: limits)
/// ```
public struct HTTPParserLimits: Sendable, Hashable {
    /// The most bytes in the request line, CRLF excluded. Longer: 414. Also bounds a response's status line.
    public var maxRequestLineLength: Int
    /// The most bytes in the header section: every field line with its CRLF, plus the empty line that ends the
    /// section. Longer: 431. Trailer fields of a chunked body get a budget of their own of the same size.
    public var maxHeaderBytes: Int
    /// The most header field lines (and, separately, trailer field lines). More: 431.
    public var maxHeaderCount: Int
    /// The most body bytes, declared (`Content-Length`) or accumulated (chunked). More: 413.
    /// `Int64.max` means unlimited. Requests only: a proxy streams response bodies through unbounded.
    public var maxBodyLength: Int64
    /// The most bytes of chunk extensions (`;name=value…`) on one chunk-size line. More: 400.
    public var maxChunkExtensionLength: Int
    /// The most empty lines accepted before a request line (RFC 9112 §2.2 allows some), or before a status line.
    /// More: 400.
    public var maxEmptyLinesBeforeRequest: Int

    /// Creates limits; every argument has a default suited to an API gateway.
    ///
    /// ```swift
    /// let limits = HTTPParserLimits(maxBodyLength: 1 << 20)
    /// ```
    public init(
        maxRequestLineLength: Int = 8 * 1024,
        maxHeaderBytes: Int = 32 * 1024,
        maxHeaderCount: Int = 100,
        maxBodyLength: Int64 = 10 * 1024 * 1024,
        maxChunkExtensionLength: Int = 1024,
        maxEmptyLinesBeforeRequest: Int = 8
    ) {
        precondition(maxRequestLineLength > 0 && maxHeaderBytes > 0, "line and header limits must be positive")
        precondition(maxHeaderCount >= 0 && maxBodyLength >= 0, "header count and body limits must not be negative")
        precondition(maxChunkExtensionLength >= 0 && maxEmptyLinesBeforeRequest >= 0, "limits must not be negative")
        self.maxRequestLineLength = maxRequestLineLength
        self.maxHeaderBytes = maxHeaderBytes
        self.maxHeaderCount = maxHeaderCount
        self.maxBodyLength = maxBodyLength
        self.maxChunkExtensionLength = maxChunkExtensionLength
        self.maxEmptyLinesBeforeRequest = maxEmptyLinesBeforeRequest
    }
}
