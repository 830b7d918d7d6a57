/// Limits and timeouts of the HTTP server.
///
/// ```swift
/// var settings = HTTPServerSettings()
/// settings.headerTimeout = .seconds(5)
/// settings.maxConnections = 50_000
/// ```
public struct HTTPServerSettings: Sendable {
    /// Parser limits: request line, headers, body size.
    public var parserLimits = HTTPParserLimits()
    /// How long a request head may take to arrive once it started (slow clients get 408).
    public var headerTimeout: Duration = .seconds(10)
    /// How long a keep-alive connection may sit between requests, and how long a request in
    /// flight or an answer going out may go without a byte read or written (a client that stops
    /// sending its body or stops reading is cut off).
    public var idleTimeout: Duration = .seconds(60)
    /// Connections open at once, over every loop; more are closed as soon as they are accepted.
    public var maxConnections = 10_000
    /// Bytes read per connection before the parser must consume some.
    public var readBufferSize = 16 * 1024
    /// How long a graceful shutdown waits for requests in flight.
    public var drainTimeout: Duration = .seconds(10)

    /// The defaults.
    public init() {}
}
