import SluiceHTTP

/// Target mode: answers every allowed request itself, with a fixed status and body — the
/// load-test target.
public struct TargetHandler: HTTPRequestHandler {
    private let response: HTTPResponse

    /// Answers with `target`'s status, body and content type.
    public init(target: TargetResponse) {
        response = HTTPResponse(
            status: target.status, headers: [("Content-Type", target.contentType)], body: Array(target.body.utf8))
    }

    public func handle(_ request: HTTPRequest, responder: HTTPResponder) {
        responder.respond(response)
    }
}
