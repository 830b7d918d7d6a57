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

    /// The request head as the upstream sees it.
    static func upstreamHead(for request: HTTPRequest, chunked: Bool) -> [UInt8] {
        let head = request.head
        var text = "\(head.method) \(head.target) HTTP/1.1\r\n"
        let dropped = HopByHop.fieldNames(connectionValues: head.headers.all(name: "Connection"))
        var forwardedFor: [String] = []
        for field in head.headers {
            let name = field.name.lowercased()
            if name == "x-forwarded-for" {
                forwardedFor.append(field.value)
            } else if name == "content-length" && chunked {
                continue
            } else if !dropped.contains(name) && name != "x-forwarded-proto" && name != "x-forwarded-host" {
                text += "\(field.name): \(field.value)\r\n"
            }
        }
        if let peer = request.peer { forwardedFor.append(peer.ip) }
        if !forwardedFor.isEmpty { text += "X-Forwarded-For: \(forwardedFor.joined(separator: ", "))\r\n" }
        text += "X-Forwarded-Proto: http\r\n"
        if let host = head.host { text += "X-Forwarded-Host: \(host)\r\n" }
        if chunked { text += "Transfer-Encoding: chunked\r\n" }
        text += "\r\n"
        return Array(text.utf8)
    }
}

/// The hop-by-hop header fields of RFC 9110 §7.6.1.
enum HopByHop {
    static let always: Set<String> = [
        "connection", "keep-alive", "proxy-connection", "te", "trailer", "transfer-encoding", "upgrade",
    ]

    /// The fixed set plus every field named in `Connection`, lower-cased.
    static func fieldNames(connectionValues: [String]) -> Set<String> {
        var names = always
        for value in connectionValues {
            for token in value.split(separator: ",") {
                names.insert(token.trimmingASCIISpaces().lowercased())
            }
        }
        return names
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
        let dropped = HopByHop.fieldNames(connectionValues: head.headers.all(name: "Connection"))
        var headers = HTTPFieldLines()
        for field in head.headers {
            let name = field.name.lowercased()
            if !dropped.contains(name) && name != "content-length" {
                headers.append(name: field.name, value: field.value)
            }
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
