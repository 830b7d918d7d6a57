extension HTTPResponseHead {
    /// Works out framing and connection reuse from a valid status line and header section, following RFC 9112
    /// §6.3 for a response to a `requestMethod` request.
    ///
    /// Only `chunked` alone is accepted as a transfer coding: the parser cannot remove any other, so the body
    /// could not be forwarded as it was meant to be read. `Transfer-Encoding` with `Content-Length` is read as
    /// chunked (the transfer coding overrides, RFC 9112 §6.3) but ends the connection afterwards: the sender is
    /// broken or hostile, and its next response cannot be trusted to start where this one ends. A proxy that
    /// forwards such a response must not forward the `Content-Length`.
    init(
        status: Int,
        reason: String,
        version: HTTPVersion,
        headers: HTTPHeaders,
        requestMethod: String
    ) throws(HTTPParseError) {
        var fields = HTTPFramingFields()
        for field in headers {
            try fields.collect(field)
        }
        // The connection stops carrying HTTP after these; what follows belongs to the new protocol or the tunnel.
        let switchesProtocol = status == 101 || (requestMethod == "CONNECT" && status / 100 == 2)
        let hasBody = !HTTPStatus.hasNoBody(status) && requestMethod != "HEAD" && !switchesProtocol

        self.status = status
        self.reason = reason
        self.version = version
        self.headers = headers
        self.keepAlive = fields.keepAlive(version: version) && !switchesProtocol
        guard hasBody else {
            self.bodyFraming = .none
            return
        }
        if let transferCodings = fields.transferCodings {
            guard version == .http1_1 else {
                throw HTTPParseError(
                    kind: .invalidTransferEncoding,
                    detail: "Transfer-Encoding \(HTTPSyntax.quoted(transferCodings.joined(separator: ", "))) in an "
                        + "HTTP/1.0 response"
                )
            }
            try HTTPFramingFields.checkChunkedOnly(transferCodings)
            self.bodyFraming = .chunked
            self.keepAlive = keepAlive && fields.contentLength == nil
        } else if let length = fields.contentLength {
            self.bodyFraming = .contentLength(length)
        } else {
            self.bodyFraming = .untilClose
            self.keepAlive = false
        }
    }
}
