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
    /// A request head arrived. Answer exactly once, now or later, on `request.loop`: with
    /// `responder.respond(_:)`, or streamed with `startResponse`, `sendBody` and `finish`.
    /// The body goes to `responder.consumeRequestBody(_:)` if asked for, else it is dropped.
    func handle(_ request: HTTPRequest, responder: HTTPResponder)
}

/// Sends the answer to one request on its connection. Answering twice, or after the connection
/// closed, does nothing.
public struct HTTPResponder {
    let connection: HTTPServerConnection
    let requestNumber: UInt64
    private var extraHeaders = HTTPFieldLines()

    init(connection: HTTPServerConnection, requestNumber: UInt64) {
        self.connection = connection
        self.requestNumber = requestNumber
    }

    /// A responder that adds `headers` to whatever response it sends (a middleware's fields).
    ///
    /// ```swift
    /// var fields = HTTPFieldLines()
    /// fields.append(name: "X-Request-Id", value: 42)
    /// next.handle(request, responder: responder.addingHeaders(fields))
    /// ```
    public func addingHeaders(_ headers: HTTPFieldLines) -> HTTPResponder {
        var copy = self
        copy.extraHeaders.append(contentsOf: headers)
        return copy
    }

    /// Writes `response`; responses of pipelined requests leave in request order.
    public func respond(_ response: HTTPResponse) {
        connection.respond(response, extraHeaders: extraHeaders, to: requestNumber)
    }

    // MARK: - Streaming (proxy mode)

    /// Hands the request body to `consumer` as it arrives (what arrived before is delivered first).
    /// Without a consumer the body is kept briefly, then dropped once the request is answered.
    public func consumeRequestBody(_ consumer: @escaping (HTTPBodyEvent) -> Void) {
        connection.consumeBody(of: requestNumber, with: consumer)
    }

    /// Stops (or resumes) reading the request body, when its consumer cannot keep up.
    public func pauseRequestBody(_ paused: Bool) {
        connection.pauseBody(of: requestNumber, paused)
    }

    /// Writes the head of an answer whose body follows with ``sendBody(_:)`` and ``finish()``.
    public func startResponse(status: Int, headers: HTTPFieldLines, framing: HTTPResponseFraming) {
        connection.startResponse(
            to: requestNumber, status: status, headers: headers, extraHeaders: extraHeaders, framing: framing)
    }

    /// Sends body bytes; false once the client falls behind: wait for ``whenClientDrained(_:)``.
    @discardableResult
    public func sendBody(_ bytes: [UInt8]) -> Bool {
        connection.sendResponseBody(of: requestNumber, bytes)
    }

    /// Calls `callback` once everything sent so far has been written to the client.
    public func whenClientDrained(_ callback: @escaping () -> Void) {
        connection.whenClientDrained(of: requestNumber, callback)
    }

    /// Calls `callback` if the client connection closes before this request is done (at once if
    /// it already has): a streaming producer stops and lets go of its resources.
    public func whenClientCloses(_ callback: @escaping () -> Void) {
        connection.whenClosed(of: requestNumber, callback)
    }

    /// Ends a streamed answer.
    public func finish() {
        connection.finishResponse(of: requestNumber)
    }

    /// Closes the client connection without finishing the answer: for an upstream that failed mid-response.
    public func abort() {
        connection.abortResponse(of: requestNumber)
    }
}
