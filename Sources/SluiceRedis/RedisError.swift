/// Why a Redis command did not produce a reply.
///
/// The most important question an error answers is whether the command *may have run*
/// (``isAmbiguous``): a counting command that may have run must never be sent again, or the
/// request would be counted twice.
///
/// ```swift
/// do {
///     _ = try await client.send("INCR", "hits")
/// } catch let error where error.code == .server {
///     print("Redis refused:", error.message)
/// }
/// ```
public struct RedisError: Error, Sendable, Hashable, CustomStringConvertible {
    /// What kind of failure this is.
    public enum Code: String, Sendable, Hashable {
        /// The server answered with an error reply (`-ERR …`, `-NOSCRIPT …`); nothing was changed by it.
        case server
        /// The command was written but the connection ended before its reply: it may have run.
        case connectionClosed
        /// The command's deadline passed. It may have run when ``RedisError/wasSent`` is true.
        case timeout
        /// The command never left this process (no connection, or the connection died first).
        case notSent
        /// No connection could be made (refused, unreachable, name not resolved).
        case connectFailed
        /// The server rejected the credentials (`WRONGPASS`, `NOAUTH`, `NOPERM`).
        case authenticationFailed
        /// The server sent bytes that are not valid RESP, or a reply of an unexpected shape.
        case protocolError
        /// Too many commands are waiting for a connection.
        case queueFull
        /// The client was shut down.
        case shutdown
    }

    /// What kind of failure this is.
    public var code: Code
    /// What happened, in words, with the facts a reader needs.
    public var message: String
    /// The server this concerns, as `host:port`.
    public var endpoint: String
    /// True when the command's bytes were written to the server before the failure.
    public var wasSent: Bool

    /// Creates an error.
    public init(code: Code, message: String, endpoint: String, wasSent: Bool = false) {
        self.code = code
        self.message = message
        self.endpoint = endpoint
        self.wasSent = wasSent
    }

    /// For a server error reply: its first word (`ERR`, `NOSCRIPT`, `MOVED`, `WRONGTYPE`, …).
    public var serverCode: Substring? {
        guard code == .server else { return nil }
        return message.prefix { $0 != " " }
    }

    /// True when the command may have run on the server, so it must not be sent again.
    public var isAmbiguous: Bool {
        switch code {
        case .connectionClosed: true
        case .timeout: wasSent
        default: false
        }
    }

    /// A one-line message: the endpoint, the kind, and what happened.
    public var description: String { "redis \(endpoint): \(code.rawValue): \(message)" }
}
