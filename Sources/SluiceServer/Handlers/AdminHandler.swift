import SluiceHTTP
import SluiceNet

/// The admin listener: `/metrics` (Prometheus text), `/healthz` (the process answers) and
/// `/readyz` (whether requests get the answers the configuration asks for; see ``Readiness``).
public struct AdminHandler: HTTPRequestHandler {
    /// What `/readyz` says.
    public enum Readiness: Sendable, Equatable {
        /// 200: the store answers.
        case ready
        /// 200: the store does not answer, and every rule has a store-failure policy that
        /// still serves (`allow` or `local`). Taking every instance out of a load balancer
        /// because a shared store is down would turn a degraded service into none.
        case degraded(String)
        /// 503: the store does not answer and a rule denies without it.
        case unready(String)
    }

    /// Asks how ready the server is, on the given loop; calls back on that loop.
    public typealias ReadinessProbe = @Sendable (EventLoop, @escaping (Readiness) -> Void) -> Void

    private let metrics: ServerMetrics
    private let isReady: ReadinessProbe

    /// Serves `metrics`; `/readyz` asks `isReady`.
    public init(metrics: ServerMetrics, isReady: @escaping ReadinessProbe = { _, answer in answer(.ready) }) {
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
            isReady(request.loop) { readiness in
                switch readiness {
                case .ready: responder.respond(.text(200, "ready"))
                case .degraded(let reason): responder.respond(.text(200, "ready, degraded: \(reason)"))
                case .unready(let reason): responder.respond(.text(503, "not ready: \(reason)"))
                }
            }
        default:
            responder.respond(.text(404, "not found: try /metrics, /healthz or /readyz"))
        }
    }
}
