/// The reason ``HTTPRequestParser`` rejected a request, and the status to answer it with.
///
/// The parser cannot find the next request after this error: answer with ``status`` (the response should carry
/// `Connection: close`) and close the connection.
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
    }

    /// What kind of problem was found.
    public var kind: Kind
    /// What was found, with the offending input (escaped and shortened), e.g.
    /// `field name "Transfer-Encoding " is not a token`.
    public var detail: String

    /// Creates an error.
    public init(kind: Kind, detail: String) {
        self.kind = kind
        self.detail = detail
    }

    /// The status code to answer with: 400, 413, 414, 431, 501 or 505.
    public var status: Int {
        switch kind {
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
        }
    }

    /// `<status> <kind>: <detail>`, e.g. `505 unsupportedVersion: version "HTTP/2.0" is not HTTP/1.0 or HTTP/1.1`.
    public var description: String {
        "\(status) \(kind.rawValue): \(detail)"
    }
}
