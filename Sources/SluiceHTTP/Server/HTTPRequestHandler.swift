import SluiceNet

/// One request as the server hands it to a handler.
public struct HTTPRequest: Sendable {
    /// The request line and headers.
    public var head: HTTPRequestHead
    /// The TCP peer (the client, or the proxy in front of it).
    public var peer: SocketAddress?
    /// The loop that owns the connection; the handler answers on it.
    public var loop: EventLoop
}

/// Answers requests. Called on the connection's event loop; must not block it.
///
/// ```swift
/// struct Hello: HTTPRequestHandler {
///     func handle(_ request: HTTPRequest, responder: HTTPResponder) {
///         responder.respond(.text(200, "hello"))
///     }
/// }
/// ```
public protocol HTTPRequestHandler: Sendable {
    /// A request head arrived. Call `responder.respond(_:)` exactly once, now or later, on `request.loop`.
    /// The request body (if any) is read and discarded by the connection.
    func handle(_ request: HTTPRequest, responder: HTTPResponder)
}

/// Sends the answer to one request on its connection. Answering twice, or after the connection
/// closed, does nothing.
public struct HTTPResponder {
    let connection: HTTPServerConnection
    let requestNumber: UInt64
    private var extraHeaders: [(String, String)] = []

    init(connection: HTTPServerConnection, requestNumber: UInt64) {
        self.connection = connection
        self.requestNumber = requestNumber
    }

    /// A responder that adds `headers` to whatever response it sends (a middleware's fields).
    public func addingHeaders(_ headers: [(String, String)]) -> HTTPResponder {
        var copy = self
        copy.extraHeaders += headers
        return copy
    }

    /// Writes `response`; responses of pipelined requests leave in request order.
    public func respond(_ response: HTTPResponse) {
        var response = response
        response.headers += extraHeaders
        connection.respond(response, to: requestNumber)
    }
}
