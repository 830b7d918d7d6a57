import SluiceHTTP
import SluiceNet

/// The admin listener: `/metrics` (Prometheus text), `/healthz` (the process answers) and
/// `/readyz` (the store answers).
public struct AdminHandler: HTTPRequestHandler {
    /// Asks whether the store answers, on the given loop; calls back on that loop.
    public typealias ReadinessProbe = @Sendable (EventLoop, @escaping (Bool) -> Void) -> Void

    private let metrics: ServerMetrics
    private let isReady: ReadinessProbe

    /// Serves `metrics`; `/readyz` asks `isReady`.
    public init(metrics: ServerMetrics, isReady: @escaping ReadinessProbe = { _, answer in answer(true) }) {
        self.metrics = metrics
        self.isReady = isReady
    }

    public func handle(_ request: HTTPRequest, responder: HTTPResponder) {
        switch request.head.path {
        case "/metrics":
            responder.respond(
                HTTPResponse(
                    status: 200, headers: [("Content-Type", "text/plain; version=0.0.4")],
                    body: Array(metrics.render().utf8)))
        case "/healthz":
            responder.respond(.text(200, "ok"))
        case "/readyz":
            isReady(request.loop) { ready in
                responder.respond(ready ? .text(200, "ready") : .text(503, "store unreachable"))
            }
        default:
            responder.respond(.text(404, "not found: try /metrics, /healthz or /readyz"))
        }
    }
}
