import Foundation
import SluiceLimit
import SluiceNet

extension ServerConfiguration {
    /// Reads a JSON config file over the current values. Errors name the file, the field
    /// (`rules[1].window`) and what is wrong; unknown fields are errors too (a typo would
    /// otherwise be ignored silently).
    ///
    /// ```json
    /// {
    ///   "listen": "0.0.0.0:8080", "admin": "127.0.0.1:9090", "store": "redis://127.0.0.1:6379",
    ///   "storeBudget": "50ms", "onStoreFailure": "local", "overLimitCache": true,
    ///   "trustedProxies": ["10.0.0.0/8"], "ipv6Prefix": 64, "resetHeader": "unix", "draftHeaders": false,
    ///   "target": {"status": 200, "body": "OK\n"},
    ///   "rules": [{"name": "api", "match": {"methods": ["GET"], "host": "api.example.com", "pathPrefix": "/v1"},
    ///              "key": ["ip", "header:X-API-Key"], "algorithm": "token-bucket", "limit": 100, "window": "1m",
    ///              "burst": 20, "cost": 1, "shadow": false, "onStoreFailure": "deny"}]
    /// }
    /// ```
    public mutating func load(file path: String) throws(ConfigurationError) {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw ConfigurationError(file: path, field: "", message: "cannot read the file")
        }
        let root: Any
        do {
            root = try JSONSerialization.jsonObject(with: data)
        } catch {
            throw ConfigurationError(file: path, field: "", message: "not valid JSON: \(error.localizedDescription)")
        }
        do {
            try apply(JSONFields(root, path: ""))
        } catch {
            throw error.located(file: path, under: nil)
        }
    }

    /// Applies the fields of a parsed config document.
    mutating func apply(_ fields: JSONFields) throws(ConfigurationError) {
        try fields.allowOnly([
            "listen", "admin", "store", "upstream", "rules", "trustedProxies", "ipv6Prefix", "resetHeader",
            "draftHeaders", "target", "loops", "maxConnections", "headerTimeout", "idleTimeout", "maxBodyBytes",
            "upstreamTimeout", "storeBudget", "onStoreFailure", "overLimitCache",
        ])
        if let text = try fields.string("listen") { listen = try fields.hostAndPort(text, field: "listen", port: 8080) }
        if let text = try fields.string("admin") { admin = try fields.hostAndPort(text, field: "admin", port: 9090) }
        if let text = try fields.string("store") { store = text }
        if let flag = try fields.bool("overLimitCache") { overLimitCache = flag }
        if let text = try fields.string("storeBudget") { storeBudget = try fields.duration(text, field: "storeBudget") }
        let failurePolicy = try fields.string("onStoreFailure").map { (text) throws(ConfigurationError) in
            try StoreFailurePolicy.parse(text, field: "onStoreFailure")
        }
        if let text = try fields.string("upstream") { upstream = text }
        if let text = try fields.string("upstreamTimeout") {
            upstreamTimeout = try fields.duration(text, field: "upstreamTimeout")
        }
        if let networks = try fields.strings("trustedProxies") {
            var parsed: [IPNetwork] = []
            for (index, text) in networks.enumerated() {
                do throws(ConfigurationError) {
                    parsed.append(try IPNetwork(parsing: text))
                } catch {
                    throw error.located(file: nil, under: "trustedProxies[\(index)]")
                }
            }
            clientAddresses.trustedProxies = parsed
        }
        if let prefix = try fields.integer("ipv6Prefix", in: 1...128) { clientAddresses.ipv6PrefixLength = prefix }
        if let reset = try fields.string("resetHeader") {
            guard reset == "unix" || reset == "delta" else {
                throw ConfigurationError(field: "resetHeader", message: "\"\(reset)\" must be \"unix\" or \"delta\"")
            }
            headerStyle.resetAsDelta = reset == "delta"
        }
        if let draft = try fields.bool("draftHeaders") { headerStyle.draftFields = draft }
        if let count = try fields.integer("loops", in: 1...1024) { loops = count }
        if let count = try fields.integer("maxConnections", in: 1...10_000_000) { http.maxConnections = count }
        if let text = try fields.string("headerTimeout") {
            http.headerTimeout = try fields.duration(text, field: "headerTimeout")
        }
        if let text = try fields.string("idleTimeout") {
            http.idleTimeout = try fields.duration(text, field: "idleTimeout")
        }
        if let bytes = try fields.integer("maxBodyBytes", in: 0...Int(Int64.max)) {
            http.parserLimits.maxBodyLength = Int64(bytes)
        }
        if let object = try fields.object("target") {
            try object.allowOnly(["status", "body", "contentType"])
            // A final answer: 1xx statuses are interim.
            if let status = try object.integer("status", in: 200...599) { target.status = status }
            if let body = try object.string("body") { target.body = body }
            if let type = try object.string("contentType") { target.contentType = type }
        }
        if let list = try fields.objects("rules") {
            rules = try list.map { (rule) throws(ConfigurationError) in
                try Self.rule(from: rule, onStoreFailure: failurePolicy ?? .allow)
            }
            try Self.checkNamesAreUnique(rules)
        } else if let failurePolicy {
            for index in rules.indices { rules[index].onStoreFailure = failurePolicy }
        }
    }

    /// A rule object; `onStoreFailure` applies when the rule names none.
    static func rule(from fields: JSONFields, onStoreFailure: StoreFailurePolicy = .allow) throws(ConfigurationError)
        -> Rule
    {
        try fields.allowOnly([
            "name", "match", "key", "algorithm", "limit", "window", "burst", "cost", "shadow", "onStoreFailure",
        ])
        guard let name = try fields.string("name"), RuleName.isValid(name) else {
            throw ConfigurationError(field: fields.path(of: "name"), message: RuleName.requirement)
        }
        var match = RuleMatch()
        if let object = try fields.object("match") {
            try object.allowOnly(["methods", "host", "pathPrefix"])
            match = RuleMatch(
                methods: Set(try object.strings("methods") ?? []), host: try object.string("host"),
                pathPrefix: try object.string("pathPrefix") ?? "/")
            guard match.pathPrefix.hasPrefix("/") else {
                throw ConfigurationError(field: object.path(of: "pathPrefix"), message: "must start with /")
            }
        }
        let keyTexts = try fields.strings("key", allowSingle: true) ?? ["ip"]
        var identity: [IdentitySource] = []
        for text in keyTexts {
            do throws(ConfigurationError) {
                identity.append(try IdentitySource(parsing: text))
            } catch {
                throw error.located(file: nil, under: fields.prefix)
            }
        }
        guard let algorithmText = try fields.string("algorithm") else {
            throw ConfigurationError(
                field: fields.path(of: "algorithm"),
                message: "missing; use fixed-window, sliding-window or token-bucket")
        }
        guard let algorithm = RateLimitAlgorithm(rawValue: algorithmText) else {
            throw ConfigurationError(
                field: fields.path(of: "algorithm"),
                message: "\"\(algorithmText)\" is not fixed-window, sliding-window or token-bucket")
        }
        guard let limit = try fields.integer("limit", in: Int.min...Int.max) else {
            throw ConfigurationError(field: fields.path(of: "limit"), message: "missing: how many requests per window")
        }
        guard let windowText = try fields.string("window") else {
            throw ConfigurationError(field: fields.path(of: "window"), message: "missing: a duration such as 1s or 1m")
        }
        let window = try fields.duration(windowText, field: "window")
        let burst = try fields.integer("burst", in: Int.min...Int.max)
        let policy: RateLimitPolicy
        do {
            policy = try RateLimitPolicy(algorithm: algorithm, limit: limit, window: window, burst: burst)
        } catch {
            throw ConfigurationError(field: fields.path(of: error.field), message: "\(error.value): \(error.reason)")
        }
        let cost = try fields.integer("cost", in: 1...RateLimitPolicy.maximumQuota) ?? 1
        let failurePolicy = try fields.string("onStoreFailure").map { (text) throws(ConfigurationError) in
            try StoreFailurePolicy.parse(text, field: fields.path(of: "onStoreFailure"))
        }
        return Rule(
            name: name, match: match, identity: identity, policy: policy, cost: cost,
            shadow: try fields.bool("shadow") ?? false, onStoreFailure: failurePolicy ?? onStoreFailure)
    }

    static func checkNamesAreUnique(_ rules: [Rule]) throws(ConfigurationError) {
        var seen: Set<String> = []
        for (index, rule) in rules.enumerated() where !seen.insert(rule.name).inserted {
            throw ConfigurationError(field: "rules[\(index)].name", message: "\"\(rule.name)\" is used by two rules")
        }
    }
}

/// What a rule name may be: it becomes part of Redis keys, metrics labels and headers.
enum RuleName {
    static let requirement = "a rule needs a name of 1 to 64 letters, digits, '-', '_' or '.'"

    static func isValid(_ name: String) -> Bool {
        (1...64).contains(name.count)
            && name.allSatisfy { $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "-" || $0 == "_" || $0 == ".") }
    }
}
