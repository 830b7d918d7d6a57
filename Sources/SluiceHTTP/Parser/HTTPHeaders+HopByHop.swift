extension HTTPHeaders {
    /// Calls `body` with each end-to-end field, in order: every field but the hop-by-hop ones, which a
    /// proxy must not forward (RFC 9110 §7.6.1): `Connection`, the fields it names, `Keep-Alive`,
    /// `Proxy-Connection`, `TE`, `Trailer`, `Transfer-Encoding` and `Upgrade`.
    ///
    /// Names are compared in place, ignoring case: a proxy runs this on both heads of every exchange.
    ///
    /// ```swift
    /// let headers = HTTPHeaders([("Connection", "keep-alive, X-Trace"), ("X-Trace", "1"), ("Accept", "*/*")])
    /// headers.forEachEndToEndField { print($0.name) }  // Accept
    /// ```
    public func forEachEndToEndField(_ body: (Field) throws -> Void) rethrows {
        // The fields `Connection` names beyond the fixed ones: none in nearly every message.
        var named: [Substring] = []
        for field in self where field.isNamed("Connection") {
            HTTPSyntax.forEachListElement(field.value) { option in
                if !option.isEmpty && !Self.isAlwaysHopByHop(option) && !HTTPSyntax.equalsIgnoringCase(option, "close")
                {
                    named.append(option)
                }
            }
        }
        for field in self
        where !Self.isAlwaysHopByHop(field.name)
            && !named.contains(where: { HTTPSyntax.equalsIgnoringCase($0, field.name) })
        {
            try body(field)
        }
    }

    /// The bytes the fields take as field lines (`Name: value` and CRLF each): what a copy of them needs.
    ///
    /// ```swift
    /// HTTPHeaders([("Host", "a.example")]).fieldLineBytes  // 17, for "Host: a.example\r\n"
    /// ```
    public var fieldLineBytes: Int {
        reduce(0) { total, field in total + field.name.utf8.count + field.value.utf8.count + 4 }
    }

    /// Whether `name` is hop-by-hop whatever `Connection` says; by length first, so most names take one comparison.
    private static func isAlwaysHopByHop(_ name: some StringProtocol) -> Bool {
        switch name.utf8.count {
        case 2: HTTPSyntax.equalsIgnoringCase(name, "te")
        case 7: HTTPSyntax.equalsIgnoringCase(name, "trailer") || HTTPSyntax.equalsIgnoringCase(name, "upgrade")
        case 10:
            HTTPSyntax.equalsIgnoringCase(name, "connection") || HTTPSyntax.equalsIgnoringCase(name, "keep-alive")
        case 16: HTTPSyntax.equalsIgnoringCase(name, "proxy-connection")
        case 17: HTTPSyntax.equalsIgnoringCase(name, "transfer-encoding")
        default: false
        }
    }
}

extension HTTPHeaders.Field {
    /// Whether the field is called `name`, ignoring case (RFC 9110 §5.1).
    ///
    /// ```swift
    /// HTTPHeaders.Field(name: "content-length", value: "3").isNamed("Content-Length")  // true
    /// ```
    public func isNamed(_ name: String) -> Bool {
        HTTPSyntax.equalsIgnoringCase(self.name, name)
    }
}
