/// Receives an upstream's answer to one forwarded request. Called on the request's loop.
public protocol UpstreamResponseDelegate: AnyObject {
    /// The final response head arrived (interim 1xx heads are not reported).
    func upstreamResponded(_ head: HTTPResponseHead)
    /// Response body bytes; return false to pause reading until ``UpstreamCall/resumeResponse()``.
    func upstreamBody(_ bytes: [UInt8]) -> Bool
    /// The response is complete.
    func upstreamFinished()
    /// The exchange failed; `responseStarted` says whether the head had already been reported.
    func upstreamFailed(_ error: UpstreamError, responseStarted: Bool)
}

/// Why a forwarded request got no (complete) answer.
public struct UpstreamError: Error, Sendable, Hashable, CustomStringConvertible {
    /// What kind of failure.
    public enum Kind: String, Sendable, Hashable {
        /// No connection could be made, or it broke: answer 502.
        case unavailable
        /// No response head within the response timeout, or a stall mid-answer: answer 504.
        case timeout
        /// The upstream sent something that is not HTTP, or an answer no request asked for (`101
        /// Switching Protocols`): answer 502.
        case invalidResponse
    }

    /// What kind of failure.
    public var kind: Kind
    /// What happened, with the upstream's address.
    public var message: String

    /// The status to answer the client with.
    public var status: Int { kind == .timeout ? 504 : 502 }

    /// `kind: message`.
    public var description: String { "\(kind.rawValue): \(message)" }
}

/// One request forwarded to the upstream: the caller streams the request body into it, and
/// its delegate receives the response. Loop-confined.
public final class UpstreamCall {
    let requestHead: [UInt8]
    let method: String
    let chunkedBody: Bool
    let hasBody: Bool
    /// Held strongly until the call ends (the caller keeps nothing else alive); cleared then.
    var delegate: UpstreamResponseDelegate?
    /// Set by the pool before the caller gets the call, cleared when the call ends.
    var connection: UpstreamConnection?
    var bodyEnded: Bool
    var responseStarted = false
    var finished = false
    var whenWritable: (() -> Void)?
    var responsePaused = false

    init(requestHead: [UInt8], method: String, chunkedBody: Bool, hasBody: Bool, delegate: UpstreamResponseDelegate) {
        self.requestHead = requestHead
        self.method = method
        self.chunkedBody = chunkedBody
        self.hasBody = hasBody
        self.bodyEnded = !hasBody
        self.delegate = delegate
    }

    /// Forwards request body bytes; false once the upstream falls behind (wait for ``whenUpstreamDrained(_:)``).
    @discardableResult
    public func sendBody(_ bytes: [UInt8]) -> Bool {
        guard !finished, let connection, !bytes.isEmpty else { return true }  // after the end: read and dropped
        var framed: [UInt8] = []
        if chunkedBody { framed += Array((String(bytes.count, radix: 16) + "\r\n").utf8) }
        framed += bytes
        if chunkedBody { framed += Array("\r\n".utf8) }
        return connection.write(framed)
    }

    /// The request body is complete.
    public func endBody() {
        guard !finished, !bodyEnded else { return }
        bodyEnded = true
        if chunkedBody, let connection { _ = connection.write(Array("0\r\n\r\n".utf8)) }
        connection?.bodyFinished()
    }

    /// Calls `callback` once the request bytes sent so far have left for the upstream.
    /// Once the call has ended, `callback` runs at once: the rest of the body is dropped.
    public func whenUpstreamDrained(_ callback: @escaping () -> Void) {
        if finished || !(connection?.hasPendingOutput ?? false) {
            callback()
        } else {
            whenWritable = callback
        }
    }

    /// Wakes a body writer waiting for the upstream to drain (the call ended, it never will).
    func releaseWaitingWriter() {
        let waiting = whenWritable
        whenWritable = nil
        waiting?()
    }

    /// Resumes reading the response after the delegate returned false from `upstreamBody`.
    public func resumeResponse() {
        responsePaused = false
        connection?.resumeReading()
    }

    /// Gives up on the exchange (the client went away); the connection is not reused.
    public func cancel() {
        guard !finished else { return }
        finished = true
        delegate = nil
        whenWritable = nil
        connection?.close()
    }
}
