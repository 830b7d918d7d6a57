extension HTTPRequestHead {
    /// Works out routing, framing and connection facts from a syntactically valid request line and header
    /// section, enforcing RFC 9112's rules on target forms (§3.2), `Host` (RFC 9110 §7.2) and framing (§6).
    ///
    /// `method` must be a token and `target` visible ASCII without `#`; the parser has checked both.
    init(method: String, target: String, version: HTTPVersion, headers: HTTPHeaders) throws(HTTPParseError) {
        var framingFields = HTTPFramingFields()
        var hostCount = 0
        var hostField: String?
        var expectsContinue = false
        for field in headers {
            guard try !framingFields.collect(field) else { continue }
            let name = field.name
            switch name.utf8.count {
            case 4 where HTTPSyntax.equalsIgnoringCase(name, "host"):
                hostCount += 1
                hostField = field.value
            case 6 where HTTPSyntax.equalsIgnoringCase(name, "expect"):
                expectsContinue = expectsContinue || HTTPSyntax.equalsIgnoringCase(field.value, "100-continue")
            default:
                break
            }
        }
        let (path, authority) = try Self.route(method: method, target: target)
        try Self.checkHost(count: hostCount, value: hostField, version: version)
        // Everything that can throw comes first, then the memberwise init: a throwing init that set
        // the properties itself built the head in a temporary and copied it out.
        let bodyFraming = try Self.framing(framingFields, version: version)
        self.init(
            method: method, target: target, version: version, headers: headers, path: path,
            host: authority.map(String.init) ?? hostField.flatMap { $0.isEmpty ? nil : $0 },
            keepAlive: framingFields.keepAlive(version: version),
            expectsContinue: version == .http1_1 && expectsContinue, bodyFraming: bodyFraming)
    }

    /// Checks the target's form against the method; returns the routing path and an absolute-form authority.
    private static func route(method: String, target: String) throws(HTTPParseError) -> (String, Substring?) {
        if target.utf8.first == UInt8(ascii: "/") {
            guard method != "CONNECT" else {
                throw HTTPParseError(
                    kind: .invalidTarget,
                    detail: "CONNECT target \(HTTPSyntax.quoted(target)) is not authority-form host:port"
                )
            }
            guard let query = target.utf8.firstIndex(of: UInt8(ascii: "?")) else { return (target, nil) }
            return (String(target[..<query]), nil)
        }
        if method == "CONNECT" {
            guard HTTPSyntax.isValidAuthority(target, hostRequired: true, portRequired: true) else {
                throw HTTPParseError(
                    kind: .invalidTarget,
                    detail: "CONNECT target \(HTTPSyntax.quoted(target)) is not authority-form host:port"
                )
            }
            return (target, nil)
        }
        if target == "*" {
            guard method == "OPTIONS" else {
                throw HTTPParseError(
                    kind: .invalidTarget,
                    detail: "target \"*\" is only allowed with OPTIONS, not \(HTTPSyntax.quoted(method))"
                )
            }
            return (target, nil)
        }
        guard let authority = absoluteFormAuthority(target) else {
            throw HTTPParseError(
                kind: .invalidTarget,
                detail: "target \(HTTPSyntax.quoted(target)) is not origin-form (/path) or absolute-form "
                    + "(scheme://host/path)"
            )
        }
        let rest = target[authority.endIndex...]
        let path = rest.prefix { $0 != "?" }
        return (path.isEmpty ? "/" : String(path), authority)
    }

    /// The authority of `scheme "://" authority [path] ["?" query]`, or nil when `target` is not of that shape
    /// or its authority is empty, carries userinfo, or is otherwise not `host[:port]`.
    private static func absoluteFormAuthority(_ target: String) -> Substring? {
        guard let schemeEnd = target.firstIndex(of: ":"), isScheme(target[..<schemeEnd]),
            target[schemeEnd...].hasPrefix("://")
        else {
            return nil
        }
        let rest = target[target.index(schemeEnd, offsetBy: 3)...]
        let authority = rest.prefix { $0 != "/" && $0 != "?" }
        guard HTTPSyntax.isValidAuthority(authority, hostRequired: true, portRequired: false) else { return nil }
        return authority
    }

    /// `ALPHA *( ALPHA / DIGIT / "+" / "-" / "." )` (RFC 3986 §3.1).
    private static func isScheme(_ text: Substring) -> Bool {
        guard let first = text.first, first.isASCII, first.isLetter else { return false }
        return text.allSatisfy { $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "+" || $0 == "-" || $0 == ".") }
    }

    /// Exactly one `Host` in HTTP/1.1, at most one in HTTP/1.0, and a valid `host[:port]` (or empty) value.
    private static func checkHost(count: Int, value: String?, version: HTTPVersion) throws(HTTPParseError) {
        guard count <= 1 else {
            throw HTTPParseError(kind: .invalidHost, detail: "\(count) Host fields; a request may carry only one")
        }
        guard count == 1 || version == .http1_0 else {
            throw HTTPParseError(kind: .invalidHost, detail: "HTTP/1.1 request without a Host field")
        }
        if let value, !HTTPSyntax.isValidAuthority(value, hostRequired: false, portRequired: false) {
            throw HTTPParseError(kind: .invalidHost, detail: "Host \(HTTPSyntax.quoted(value)) is not host[:port]")
        }
    }

    /// Decides the body framing (RFC 9112 §6.3). Anything a different parser might read differently is refused:
    /// `Transfer-Encoding` with `Content-Length`, with HTTP/1.0, or without `chunked` as its single final coding.
    private static func framing(
        _ fields: HTTPFramingFields,
        version: HTTPVersion
    ) throws(HTTPParseError) -> HTTPBodyFraming {
        guard let transferCodings = fields.transferCodings else {
            return fields.contentLength.map { .contentLength($0) } ?? .none
        }
        let codings = transferCodings.joined(separator: ", ")
        guard version == .http1_1 else {
            throw HTTPParseError(
                kind: .invalidTransferEncoding,
                detail: "Transfer-Encoding \(HTTPSyntax.quoted(codings)) in an HTTP/1.0 request"
            )
        }
        guard fields.contentLength == nil else {
            throw HTTPParseError(
                kind: .conflictingFraming,
                detail: "Content-Length and Transfer-Encoding \(HTTPSyntax.quoted(codings)) are both present"
            )
        }
        try HTTPFramingFields.checkChunkedOnly(transferCodings)
        return .chunked
    }
}
