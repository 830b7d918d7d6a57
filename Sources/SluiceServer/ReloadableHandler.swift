import SluiceHTTP
import SluiceNet

/// Lets SIGHUP swap the rules without a lock on the request path: each loop keeps its own
/// reference to the current handler, and a reload hands every loop the new one on its own thread.
final class ReloadableHandler: HTTPRequestHandler, @unchecked Sendable {
    /// One loop's reference; read and written only on that loop's thread.
    private final class Slot: @unchecked Sendable {
        /// Unchecked exclusivity: replaced on its loop between requests, and read into a local
        /// before it is called, so no access overlaps another (the check cost one per request).
        @exclusivity(unchecked) var handler: any HTTPRequestHandler
        init(_ handler: any HTTPRequestHandler) { self.handler = handler }
    }

    /// Built once and never changed, so reading it from every loop is safe.
    private let slots: [ObjectIdentifier: Slot]
    private let loops: [EventLoop]

    init(_ handler: any HTTPRequestHandler, loops: [EventLoop]) {
        self.loops = loops
        slots = Dictionary(uniqueKeysWithValues: loops.map { (ObjectIdentifier($0), Slot(handler)) })
    }

    func handle(_ request: HTTPRequest, responder: HTTPResponder) {
        let handler = slots[ObjectIdentifier(request.loop)]!.handler
        handler.handle(request, responder: responder)
    }

    /// The handler `loop` serves with now; call on `loop`.
    func current(on loop: EventLoop) -> any HTTPRequestHandler {
        slots[ObjectIdentifier(loop)]!.handler
    }

    /// Installs `handler` on every loop; requests already in flight finish with the old one.
    func replace(with handler: any HTTPRequestHandler) {
        for loop in loops {
            let slot = slots[ObjectIdentifier(loop)]!
            loop.execute { slot.handler = handler }
        }
    }
}
