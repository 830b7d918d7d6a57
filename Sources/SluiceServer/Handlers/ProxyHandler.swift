import SluiceHTTP
import SluiceNet

/// Proxy mode: forwards each allowed request to the upstream and streams the answer back.
///
/// Hop-by-hop fields (RFC 9110 §7.6.1: `Connection` and the fields it names, `Keep-Alive`,
/// `Proxy-Connection`, `TE`, `Trailer`, `Transfer-Encoding`, `Upgrade`) are removed both ways;
/// `X-Forwarded-For`, `-Proto` and `-Host` are added. Bodies stream both ways with backpressure
/// and are never held whole. A failed or refused connection answers 502, a slow upstream 504;
/// an upstream that fails mid-answer, or moves no byte for the upstream timeout while Sluice
/// waits on it, has the client connection closed.
public struct ProxyHandler: HTTPRequestHandler {
    private let client: UpstreamClient
    /// The `Host` of a request that named none (HTTP/1.0 allows that; HTTP/1.1 upstreams need one).
    private let upstreamAuthority: String

    /// Forwards through `client`.
    public init(client: UpstreamClient) {
        self.client = client
        upstreamAuthority = client.upstream.description
    }

    public func handle(_ request: HTTPRequest, responder: HTTPResponder) {
        let head = request.head
        // A reverse proxy opens no tunnels, and `*` names no resource of the upstream's.
        guard head.method != "CONNECT" && head.target != "*" else {
            return responder.respond(
                HTTPResponse(status: 501, headers: [("Content-Type", "text/plain")], body: Array("not proxied\n".utf8)))
        }
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
            head: Self.upstreamHead(for: request, defaultHost: upstreamAuthority), method: head.method,
            chunkedBody: chunked, hasBody: hasBody, on: request.loop, delegate: exchange)
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

    /// The request head as the upstream sees it, written as bytes in one allocation. Its body is
    /// framed as the parser read it: the client's `Content-Length` and `Transfer-Encoding` lines
    /// are never copied, so no `Connection` option can take the framing away and leave the
    /// upstream to read the body as a request of its own. The target goes in origin form, and
    /// `Host` names the authority the request is for (an absolute-form target's, which wins over
    /// the client's `Host` (RFC 9112 §3.2.2), else `defaultHost` when the client named none).
    static func upstreamHead(for request: HTTPRequest, defaultHost: String) -> [UInt8] {
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
        bytes.appendUTF8(head.target.hasPrefix("/") ? head.target : Self.originForm(of: head.target))
        bytes.append(literal: " HTTP/1.1\r\nHost: ")
        bytes.appendUTF8(head.host ?? defaultHost)
        bytes.append(literal: "\r\n")
        var forwardedFor: [String] = []
        head.headers.forEachEndToEndField { field in
            if field.isNamed("X-Forwarded-For") {
                forwardedFor.append(field.value)
            } else if !field.isNamed("Content-Length") && !field.isNamed("Host") && !field.isNamed("X-Forwarded-Proto")
                && !field.isNamed("X-Forwarded-Host")
            {
                bytes.appendFieldLine(field)
            }
        }
        if let peer { forwardedFor.append(peer) }
        if !forwardedFor.isEmpty {
            bytes.appendFieldLine(name: "X-Forwarded-For", value: forwardedFor.joined(separator: ", "))
        }
        bytes.append(literal: "X-Forwarded-Proto: http\r\n")
        if let host = head.host { bytes.appendFieldLine(name: "X-Forwarded-Host", value: host) }
        switch head.bodyFraming {
        case .none: break
        case .contentLength(let length):
            bytes.append(literal: "Content-Length: ")
            bytes.appendDecimal(length)
            bytes.append(literal: "\r\n")
        case .chunked: bytes.append(literal: "Transfer-Encoding: chunked\r\n")
        }
        bytes.append(literal: "\r\n")
        return bytes
    }

    /// The path and query of an absolute-form target (`http://a.example/x?y` → `/x?y`; `/` when it has no path).
    static func originForm(of target: String) -> String {
        guard let scheme = target.range(of: "://") else { return target }
        let afterAuthority = target[scheme.upperBound...].drop { $0 != "/" && $0 != "?" }
        return afterAuthority.first == "/" ? String(afterAuthority) : "/" + afterAuthority
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
            if !field.isNamed("Content-Length") { headers.append(field) }
        }
        let framing: HTTPResponseFraming
        switch head.bodyFraming {
        case .none:
            // 1xx/204/304 state no length; a HEAD answer keeps the length the GET would have.
            framing = .noBody(
                advertisedLength: HTTPStatus.hasNoBody(head.status)
                    ? nil : head.headers.first(name: "Content-Length").flatMap { Int64($0) })
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
