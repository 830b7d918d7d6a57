/// The reason ``HTTPRequestParser`` rejected a request, or ``HTTPResponseParser`` a response, and the status to
/// answer with.
///
/// The parser cannot find the next message after this error. For a request: answer with ``status`` (the response
/// should carry `Connection: close`) and close the connection. For a response (``inResponse``): close the
/// upstream connection and, if nothing of the response was forwarded yet, answer the client with ``status``,
/// always 502 Bad Gateway. The statuses given for each kind below are those of a request.
///
/// ```swift
/// do {
///     part = try parser.next(buffer, offset: &offset)
/// } catch {
///     print(error)  // 400 conflictingFraming: Content-Length and Transfer-Encoding are both present …
///     respond(status: error.status, closing: true)
/// }
/// ```
public struct HTTPParseError: Error, Sendable, Hashable, CustomStringConvertible {
    /// What kind of problem was found. Each kind maps to one ``HTTPParseError/status``.
    public enum Kind: String, Sendable, Hashable {
        /// The request line is not `method SP request-target SP HTTP-version` (400).
        case invalidRequestLine
        /// The method is empty or not a token (400).
        case invalidMethod
        /// The request-target is empty, has a byte outside visible ASCII or a `#`, or its form does not fit the
        /// method: `*` is only for `OPTIONS`, authority-form (`host:port`) only and always for `CONNECT` (400).
        case invalidTarget
        /// The version is not `HTTP/` digit `.` digit (400).
        case invalidVersion
        /// The version is well-formed but not HTTP/1.0 or HTTP/1.1 (505).
        case unsupportedVersion
        /// The request line is longer than ``HTTPParserLimits/maxRequestLineLength`` (414).
        case requestLineTooLong
        /// More than ``HTTPParserLimits/maxEmptyLinesBeforeRequest`` empty lines came before a request line (400).
        case tooManyEmptyLines
        /// A line ends in a bare LF instead of CRLF (400).
        case invalidLineEnding
        /// A field name is empty or not a token; this includes whitespace before the colon (400).
        case invalidFieldName
        /// A field value holds NUL, CR, DEL or another control character other than HTAB (400).
        case invalidFieldValue
        /// A field line starts with whitespace: obsolete line folding, or whitespace after the request line (400).
        case obsoleteLineFolding
        /// The header (or trailer) section exceeds ``HTTPParserLimits/maxHeaderBytes`` or
        /// ``HTTPParserLimits/maxHeaderCount`` (431).
        case headersTooLarge
        /// An HTTP/1.1 request has no `Host`, any request has more than one, or its value is not `host[:port]` (400).
        case invalidHost
        /// A `Content-Length` value is not decimal digits, overflows, or differs from another one (400).
        case invalidContentLength
        /// Both `Content-Length` and `Transfer-Encoding` are present (400).
        case conflictingFraming
        /// `Transfer-Encoding` is empty, its final coding is not `chunked`, it applies `chunked` twice, or it is
        /// sent with HTTP/1.0 (400).
        case invalidTransferEncoding
        /// `Transfer-Encoding` applies a coding other than `chunked` before the final `chunked`, e.g.
        /// `gzip, chunked` (501): the parser only removes chunked framing.
        case unsupportedTransferCoding
        /// The body is longer than ``HTTPParserLimits/maxBodyLength`` (413).
        case bodyTooLarge
        /// A chunk size is empty, not hexadecimal, longer than 16 digits, or overflows (400).
        case invalidChunkSize
        /// Chunk extensions are malformed or longer than ``HTTPParserLimits/maxChunkExtensionLength`` (400).
        case invalidChunkExtension
        /// Chunk data is not followed by CRLF (400).
        case invalidChunkTerminator
        /// Response only: the status line is not `HTTP-version SP status-code [SP reason-phrase]`, its reason
        /// phrase holds a control byte, or it is longer than ``HTTPParserLimits/maxRequestLineLength`` (502).
        case invalidStatusLine
        /// Response only: the status code is not three digits from 100 to 599 (502).
        case invalidStatusCode
        /// Response only: the connection ended before the response did (502).
        case incompleteResponse
    }

    /// What kind of problem was found.
    public var kind: Kind
    /// What was found, with the offending input (escaped and shortened), e.g.
    /// `field name "Transfer-Encoding " is not a token`.
    public var detail: String
    /// True when the error is in a response (from ``HTTPResponseParser``): the upstream is at fault, and
    /// ``status`` is 502 whatever the kind.
    public var inResponse: Bool

    /// Creates an error.
    public init(kind: Kind, detail: String, inResponse: Bool = false) {
        self.kind = kind
        self.detail = detail
        self.inResponse = inResponse
    }

    /// The status code to answer with: for a request 400, 413, 414, 431, 501 or 505; for a response 502.
    public var status: Int {
        if inResponse {
            return 502
        }
        return switch kind {
        case .requestLineTooLong: 414
        case .headersTooLarge: 431
        case .bodyTooLarge: 413
        case .unsupportedVersion: 505
        case .unsupportedTransferCoding: 501
        case .invalidRequestLine, .invalidMethod, .invalidTarget, .invalidVersion, .tooManyEmptyLines,
            .invalidLineEnding, .invalidFieldName, .invalidFieldValue, .obsoleteLineFolding, .invalidHost,
            .invalidContentLength, .conflictingFraming, .invalidTransferEncoding, .invalidChunkSize,
            .invalidChunkExtension, .invalidChunkTerminator:
            400
        case .invalidStatusLine, .invalidStatusCode, .incompleteResponse:
            502
        }
    }

    /// `<status> <kind>: <detail>`, e.g. `505 unsupportedVersion: version "HTTP/2.0" is not HTTP/1.0 or HTTP/1.1`.
    public var description: String {
        "\(status) \(kind.rawValue): \(detail)"
    }
}
