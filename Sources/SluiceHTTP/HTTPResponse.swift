/// A response to write: status, headers and a body held in memory (small by design: Sluice's own
/// answers — target mode, 429s, errors, admin pages — are all short).
///
/// ```swift
/// var response = HTTPResponse(status: 429, body: Array("{\"error\":\"rate limited\"}".utf8))
/// response.headers.append(name: "Content-Type", value: "application/json")
/// response.headers.append(name: "Retry-After", value: 3)
/// ```
public struct HTTPResponse: Sendable, Equatable {
    /// The status code.
    public var status: Int
    /// Header fields in order. `Content-Length`, `Connection` and `Date` are added when written.
    public var headers: HTTPFieldLines
    /// The body.
    public var body: [UInt8]

    /// A response with `status`, optional headers and body.
    public init(status: Int, headers: HTTPFieldLines = [], body: [UInt8] = []) {
        self.status = status
        self.headers = headers
        self.body = body
    }

    /// A short plain-text response, for errors: `text` plus a newline.
    public static func text(_ status: Int, _ text: String) -> HTTPResponse {
        HTTPResponse(
            status: status, headers: [("Content-Type", "text/plain; charset=utf-8")], body: Array((text + "\n").utf8))
    }

    /// Appends the response in HTTP/1.1 wire form; `keepAlive` false adds `Connection: close`.
    /// A response to `HEAD` carries the length of the body it would have had, but no body; a
    /// 1xx, 204 or 304 answer has neither a body nor a length (RFC 9110 §6.4.1, §8.6).
    public func write(into buffer: inout [UInt8], keepAlive: Bool, isHead: Bool = false) {
        write(into: &buffer, keepAlive: keepAlive, isHead: isHead, extraHeaders: HTTPFieldLines())
    }

    /// As ``write(into:keepAlive:isHead:)``, with `extraHeaders` after the response's own;
    /// `announceKeepAlive` adds `Connection: keep-alive`, which an HTTP/1.0 client needs to hear.
    func write(
        into buffer: inout [UInt8], keepAlive: Bool, isHead: Bool, extraHeaders: HTTPFieldLines,
        announceKeepAlive: Bool = false
    ) {
        let bodiless = HTTPStatus.hasNoBody(status)
        Self.writeHead(
            status: status, headers: headers, extraHeaders: extraHeaders,
            framing: bodiless ? .none : .contentLength(Int64(body.count)), keepAlive: keepAlive,
            announceKeepAlive: announceKeepAlive, into: &buffer)
        if !isHead && !bodiless { buffer.append(contentsOf: body) }
    }

    /// How a head says where its body ends.
    enum HeadFraming {
        /// `Content-Length: n`.
        case contentLength(Int64)
        /// `Transfer-Encoding: chunked`.
        case chunked
        /// No field: the body ends when the connection closes.
        case untilClose
        /// No field and no body: a 1xx, 204 or 304 answer.
        case none
    }

    /// Appends a status line, `headers` and `extraHeaders`, then the `framing` field,
    /// `Connection: close` when not `keepAlive` (`Connection: keep-alive` when it is and
    /// `announceKeepAlive`, for HTTP/1.0 clients), and the blank line — as bytes, building no string.
    static func writeHead(
        status: Int, headers: HTTPFieldLines, extraHeaders: HTTPFieldLines = HTTPFieldLines(), framing: HeadFraming,
        keepAlive: Bool, announceKeepAlive: Bool = false, into buffer: inout [UInt8]
    ) {
        HTTPStatus.appendStatusLine(status, to: &buffer)
        buffer.append(contentsOf: headers.bytes)
        buffer.append(contentsOf: extraHeaders.bytes)
        switch framing {
        case .contentLength(let length):
            buffer.append(literal: "Content-Length: ")
            buffer.appendDecimal(length)
            buffer.append(literal: "\r\n")
        case .chunked:
            buffer.append(literal: "Transfer-Encoding: chunked\r\n")
        case .untilClose, .none:
            break
        }
        if !keepAlive {
            buffer.append(literal: "Connection: close\r\n")
        } else if announceKeepAlive {
            buffer.append(literal: "Connection: keep-alive\r\n")
        }
        buffer.append(literal: "\r\n")
    }
}

/// Reason phrases for the statuses Sluice sends, and which of them carry no body.
public enum HTTPStatus {
    /// True for the statuses whose answers never have a body or state its length: 1xx, 204 and 304
    /// (RFC 9110 §6.4.1, §8.6).
    ///
    /// ```swift
    /// HTTPStatus.hasNoBody(204)  // true
    /// HTTPStatus.hasNoBody(200)  // false
    /// ```
    public static func hasNoBody(_ status: Int) -> Bool {
        status < 200 || status == 204 || status == 304
    }

    /// The reason phrase for `status` (RFC 9110), or "Unknown".
    public static func reason(_ status: Int) -> String {
        switch status {
        case 100: "Continue"
        case 200: "OK"
        case 201: "Created"
        case 202: "Accepted"
        case 204: "No Content"
        case 301: "Moved Permanently"
        case 302: "Found"
        case 304: "Not Modified"
        case 400: "Bad Request"
        case 401: "Unauthorized"
        case 403: "Forbidden"
        case 404: "Not Found"
        case 405: "Method Not Allowed"
        case 408: "Request Timeout"
        case 413: "Content Too Large"
        case 414: "URI Too Long"
        case 429: "Too Many Requests"
        case 431: "Request Header Fields Too Large"
        case 500: "Internal Server Error"
        case 501: "Not Implemented"
        case 502: "Bad Gateway"
        case 503: "Service Unavailable"
        case 504: "Gateway Timeout"
        case 505: "HTTP Version Not Supported"
        default: "Unknown"
        }
    }

    /// `HTTP/1.1 <status> <reason>` and CRLF, made once for each status from 100 to 599.
    private static let statusLines: [[UInt8]] = (100..<600).map { status in
        var line: [UInt8] = []
        writeStatusLine(status, to: &line)
        return line
    }

    /// Appends the status line for `status`: a copy of a ready one for the codes HTTP defines.
    static func appendStatusLine(_ status: Int, to buffer: inout [UInt8]) {
        if (100..<600).contains(status) {
            buffer.append(contentsOf: statusLines[status - 100])
        } else {
            writeStatusLine(status, to: &buffer)
        }
    }

    private static func writeStatusLine(_ status: Int, to buffer: inout [UInt8]) {
        buffer.append(literal: "HTTP/1.1 ")
        buffer.appendDecimal(status)
        buffer.append(UInt8(ascii: " "))
        buffer.appendUTF8(reason(status))
        buffer.append(literal: "\r\n")
    }
}
