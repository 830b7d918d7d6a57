import SluiceHTTP
import SluiceNet

/// Proxy mode: forwards each allowed request to the upstream and streams the answer back.
///
/// Hop-by-hop fields (RFC 9110 §7.6.1: `Connection` and the fields it names, `Keep-Alive`,
/// `Proxy-Connection`, `TE`, `Trailer`, `Transfer-Encoding`, `Upgrade`) are removed both ways;
/// `X-Forwarded-For`, `-Proto` and `-Host` are added. Bodies stream both ways with backpressure
/// and are never held whole. A failed or refused connection answers 502, a slow upstream 504;
/// an upstream that fails mid-answer has the client connection closed.
public struct ProxyHandler: HTTPRequestHandler {
    private let client: UpstreamClient

    /// Forwards through `client`.
    public init(client: UpstreamClient) {
        self.client = client
    }

    public func handle(_ request: HTTPRequest, responder: HTTPResponder) {
        let head = request.head
        let chunked: Bool
        let hasBody: Bool
        switch head.bodyFraming {
        case .none:
            (chunked, hasBody) = (false, false)
        case .contentLength(let length):
            (chunked, hasBody) = (false, length > 0)
        case .chunked:
            (chunked, hasBody) = (true, true)
        }
        let exchange = ProxyExchange(responder: responder)
        let call = client.start(
            head: Self.upstreamHead(for: request, chunked: chunked), method: head.method, chunkedBody: chunked,
            hasBody: hasBody, on: request.loop, delegate: exchange)
        exchange.call = call
        responder.whenClientCloses { call.cancel() }
        guard hasBody else { return }
        responder.consumeRequestBody { event in
            switch event {
            case .chunk(let bytes):
                if !call.sendBody(bytes) {
                    responder.pauseRequestBody(true)
                    call.whenUpstreamDrained { responder.pauseRequestBody(false) }
                }
            case .end:
                call.endBody()
            }
        }
    }

    /// The request head as the upstream sees it, written as bytes in one allocation.
    static func upstreamHead(for request: HTTPRequest, chunked: Bool) -> [UInt8] {
        let head = request.head
        let peer = request.peer?.ip
        // The fields as they came, plus the request line and the fields added (the peer and host once more).
        let capacity =
            head.method.utf8.count + head.target.utf8.count + head.headers.fieldLineBytes
            + (peer?.utf8.count ?? 0) + (head.host?.utf8.count ?? 0) + 128
        var bytes: [UInt8] = []
        bytes.reserveCapacity(capacity)
        bytes.appendUTF8(head.method)
        bytes.append(literal: " ")
        bytes.appendUTF8(head.target)
        bytes.append(literal: " HTTP/1.1\r\n")
        var forwardedFor: [String] = []
        head.headers.forEachEndToEndField { field in
            if field.isNamed("X-Forwarded-For") {
                forwardedFor.append(field.value)
            } else if !(chunked && field.isNamed("Content-Length")) && !field.isNamed("X-Forwarded-Proto")
                && !field.isNamed("X-Forwarded-Host")
            {
                bytes.appendFieldLine(name: field.name, value: field.value)
            }
        }
        if let peer { forwardedFor.append(peer) }
        if !forwardedFor.isEmpty {
            bytes.appendFieldLine(name: "X-Forwarded-For", value: forwardedFor.joined(separator: ", "))
        }
        bytes.append(literal: "X-Forwarded-Proto: http\r\n")
        if let host = head.host { bytes.appendFieldLine(name: "X-Forwarded-Host", value: host) }
        if chunked { bytes.append(literal: "Transfer-Encoding: chunked\r\n") }
        bytes.append(literal: "\r\n")
        return bytes
    }
}

/// Carries one upstream answer back to the client. Loop-confined.
final class ProxyExchange: UpstreamResponseDelegate {
    private let responder: HTTPResponder
    var call: UpstreamCall?

    init(responder: HTTPResponder) {
        self.responder = responder
    }

    func upstreamResponded(_ head: HTTPResponseHead) {
        var headers = HTTPFieldLines()
        headers.reserveCapacity(head.headers.fieldLineBytes)
        head.headers.forEachEndToEndField { field in
            if !field.isNamed("Content-Length") { headers.append(name: field.name, value: field.value) }
        }
        let framing: HTTPResponseFraming
        switch head.bodyFraming {
        case .none:
            // 1xx/204/304 state no length; a HEAD answer keeps the length the GET would have.
            let bodiless = head.status < 200 || head.status == 204 || head.status == 304
            framing = .noBody(
                advertisedLength: bodiless ? nil : head.headers.first(name: "Content-Length").flatMap { Int64($0) })
        case .contentLength(let length): framing = .contentLength(length)
        case .chunked, .untilClose: framing = .streamed
        }
        responder.startResponse(status: head.status, headers: headers, framing: framing)
    }

    func upstreamBody(_ bytes: [UInt8]) -> Bool {
        if responder.sendBody(bytes) { return true }
        responder.whenClientDrained { [self] in call?.resumeResponse() }
        return false
    }

    func upstreamFinished() {
        responder.finish()
        call = nil
    }

    func upstreamFailed(_ error: UpstreamError, responseStarted: Bool) {
        ServerLog.event("upstream_error", ["error": error.description])
        if responseStarted {
            responder.abort()
        } else {
            responder.respond(.text(error.status, error.status == 504 ? "upstream timed out" : "upstream unavailable"))
        }
        call = nil
    }
}
