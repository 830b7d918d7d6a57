import SluiceLimit
import SluiceNet
import SluiceServer

/// The `sluice` command line: flags over an optional config file over the defaults.
struct CommandLineOptions {
    static let version = "sluice 0.1.0"

    static let help = """
        sluice — a rate-limiting HTTP server

        usage: sluice [flags]

          --config FILE          JSON config file (rules, listeners, store); flags override it
          --listen HOST:PORT     where clients connect (default 0.0.0.0:8080)
          --admin HOST:PORT      /metrics, /healthz, /readyz (default 127.0.0.1:9090)
          --store URL            memory (default), redis://[user:pass@]host:port/db,
                                 redis-cluster://host:port,host:port or
                                 redis-sentinel://host:port,host:port/primary-name; also REDIS_URL
          --store-budget DURATION  how long a check may wait for the store (default 50ms)
          --on-store-failure P   allow | deny | local: what every rule decides when the store
                                 fails or is slower than the budget (default allow)
          --upstream URL         proxy mode: forward allowed requests to this API
          --algorithm NAME       fixed-window | sliding-window | token-bucket   (the flag rule)
          --limit N              requests per window                           (the flag rule)
          --window DURATION      500ms, 1s, 1m, 1h                             (the flag rule)
          --burst N              token-bucket capacity                         (the flag rule)
          --key SOURCE           ip | header:NAME | path                       (the flag rule)
          --loops N              event loops (default: one per core)
          --check                check the flags and the config file, print the rules, exit
          --help                 this text
          --version              the version

        With no flags: target mode (answers 200 itself), in-memory store, and the rule
        "default": 100 requests per minute per client IP, fixed window. Any of --algorithm,
        --limit, --window, --burst or --key replaces the rules with one rule "flags" built
        from them (unset ones take the default rule's values).
        """

    /// What to do.
    enum Action {
        /// Serve with these flag values (`--flag` → value).
        case run(flags: [String: String])
        /// Check these flag values and the config they name, then exit.
        case check(flags: [String: String])
        case print(String)
    }

    /// Reads `arguments` (without the program name) and `environment`.
    static func parse(_ arguments: [String], environment: [String: String]) throws(ConfigurationError) -> Action {
        var values: [String: String] = [:]
        var checkOnly = false
        var iterator = arguments.makeIterator()
        let valued: Set<String> = [
            "--config", "--listen", "--admin", "--store", "--upstream", "--algorithm", "--limit", "--window",
            "--burst", "--key", "--loops", "--store-budget", "--on-store-failure",
        ]
        while let argument = iterator.next() {
            switch argument {
            case "--help", "-h": return .print(help)
            case "--version": return .print(version)
            case "--check": checkOnly = true
            default:
                let (flag, inline) = split(argument)
                guard valued.contains(flag) else {
                    throw ConfigurationError(field: argument, message: "unknown flag; see sluice --help")
                }
                guard let value = inline ?? iterator.next() else {
                    throw ConfigurationError(field: flag, message: "needs a value; see sluice --help")
                }
                values[flag] = value
            }
        }
        return checkOnly ? .check(flags: values) : .run(flags: values)
    }

    /// Defaults, then `REDIS_URL`, then the config file, then the flags. Run again on SIGHUP, so
    /// a reload rereads the file and the flags keep winning.
    static func configuration(
        flags values: [String: String], environment: [String: String]
    ) throws(ConfigurationError) -> ServerConfiguration {
        var configuration = ServerConfiguration()
        if let url = environment["REDIS_URL"], !url.isEmpty { configuration.store = url }
        if let file = values["--config"] { try configuration.load(file: file) }
        try apply(values, to: &configuration)
        return configuration
    }

    private static func apply(_ values: [String: String], to configuration: inout ServerConfiguration)
        throws(ConfigurationError)
    {
        if let text = values["--listen"] { configuration.listen = try hostAndPort(text, flag: "--listen", port: 8080) }
        if let text = values["--admin"] { configuration.admin = try hostAndPort(text, flag: "--admin", port: 9090) }
        if let text = values["--store"] { configuration.store = text }
        if let text = values["--upstream"] { configuration.upstream = text }
        if let text = values["--loops"] { configuration.loops = try integer(text, flag: "--loops", in: 1...1024) }
        if let text = values["--store-budget"] {
            do { configuration.storeBudget = try DurationText.parse(text) } catch {
                throw ConfigurationError(field: "--store-budget", message: error.message)
            }
        }
        let failurePolicy = try values["--on-store-failure"].map { (text) throws(ConfigurationError) in
            try StoreFailurePolicy.parse(text, field: "--on-store-failure")
        }
        defer {
            if let failurePolicy {
                for index in configuration.rules.indices { configuration.rules[index].onStoreFailure = failurePolicy }
            }
        }
        let ruleFlags = ["--algorithm", "--limit", "--window", "--burst", "--key"]
        guard ruleFlags.contains(where: { values[$0] != nil }) else { return }
        let base = ServerConfiguration.defaultRule
        var algorithm = base.policy.algorithm
        if let text = values["--algorithm"] {
            guard let parsed = RateLimitAlgorithm(rawValue: text) else {
                throw ConfigurationError(
                    field: "--algorithm", message: "\"\(text)\" is not fixed-window, sliding-window or token-bucket")
            }
            algorithm = parsed
        }
        let limit =
            try values["--limit"].map { (text) throws(ConfigurationError) in
                try integer(text, flag: "--limit", in: Int.min...Int.max)
            } ?? base.policy.limit
        var window = base.policy.window
        if let text = values["--window"] {
            do { window = try DurationText.parse(text) } catch {
                throw ConfigurationError(field: "--window", message: error.message)
            }
        }
        let burst = try values["--burst"].map { (text) throws(ConfigurationError) in
            try integer(text, flag: "--burst", in: Int.min...Int.max)
        }
        var identity = base.identity
        if let text = values["--key"] {
            do { identity = [try IdentitySource(parsing: text)] } catch {
                throw ConfigurationError(field: "--key", message: error.message)
            }
        }
        do {
            let policy = try RateLimitPolicy(algorithm: algorithm, limit: limit, window: window, burst: burst)
            configuration.rules = [Rule(name: "flags", identity: identity, policy: policy)]
        } catch {
            throw ConfigurationError(field: "--\(error.field)", message: "\(error.value): \(error.reason)")
        }
    }

    private static func split(_ argument: String) -> (String, String?) {
        guard let equals = argument.firstIndex(of: "=") else { return (argument, nil) }
        return (String(argument[..<equals]), String(argument[argument.index(after: equals)...]))
    }

    private static func integer(_ text: String, flag: String, in range: ClosedRange<Int>) throws(ConfigurationError)
        -> Int
    {
        guard let value = Int(text), range.contains(value) else {
            throw ConfigurationError(field: flag, message: "\"\(text)\" is not a whole number in range")
        }
        return value
    }

    private static func hostAndPort(_ text: String, flag: String, port: Int) throws(ConfigurationError) -> HostAndPort {
        do { return try HostAndPort(parsing: text, defaultPort: port) } catch {
            throw ConfigurationError(field: flag, message: error.description)
        }
    }
}
