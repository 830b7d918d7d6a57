/// The conversation that makes a fresh connection usable, as a pure state machine.
///
/// The first write carries everything at once: `HELLO 3` (with `AUTH` and `SETNAME`) and
/// `SELECT`. A server that does not know `HELLO` or RESP3 is then greeted the RESP2 way:
/// `AUTH`, `CLIENT SETNAME`, `SELECT`. The connection performs the ``Action``s; this type
/// only decides, so every path is testable with plain values.
struct RedisHandshake {
    enum Action: Equatable {
        /// Wait for the next reply.
        case wait
        /// Write these commands, then wait.
        case send([[RESPArgument]])
        /// The connection is ready and speaks this protocol version (2 or 3).
        case ready(protocolVersion: Int)
        /// The connection cannot be used.
        case fail(RedisError.Code, String)
    }

    private enum Expected {
        case hello, auth, setName, select, ignored
    }

    private let username: String?
    private let password: String?
    private let clientName: String?
    private let database: Int
    private var expected: [Expected] = []
    private var protocolVersion = 3
    /// What `HELLO` said about the server; empty after a RESP2 fallback.
    private(set) var serverInfo = RedisServerInfo()

    init(configuration: RedisConfiguration) {
        username = configuration.username
        password = configuration.password
        clientName = configuration.clientName
        database = configuration.database
    }

    /// The commands of the first write.
    mutating func start() -> [[RESPArgument]] {
        var hello: [RESPArgument] = ["HELLO", "3"]
        if let password {
            hello += ["AUTH", .string(username ?? "default"), .string(password)]
        }
        if let clientName { hello += ["SETNAME", .string(clientName)] }
        var commands = [hello]
        expected = [.hello]
        if database != 0 {
            commands.append(["SELECT", .integer(Int64(database))])
            expected.append(.select)
        }
        return commands
    }

    /// Takes the next reply and says what to do.
    mutating func receive(_ reply: RESPValue) -> Action {
        guard !expected.isEmpty else { return .fail(.protocolError, "unexpected reply during handshake: \(reply)") }
        let step = expected.removeFirst()
        if let error = reply.errorMessage {
            switch step {
            case .hello where Self.isAuthenticationFailure(error):
                return .fail(.authenticationFailed, "HELLO refused the credentials: \(error)")
            case .hello:
                return fallBackToRESP2()
            case .auth:
                return .fail(.authenticationFailed, "AUTH failed: \(error)")
            case .select:
                return .fail(.protocolError, "SELECT \(database) failed: \(error)")
            case .setName:
                return .fail(.protocolError, "CLIENT SETNAME failed: \(error)")
            case .ignored:
                break
            }
        } else if step == .hello {
            serverInfo = RedisServerInfo(helloReply: reply)
        }
        return expected.isEmpty ? .ready(protocolVersion: protocolVersion) : .wait
    }

    private mutating func fallBackToRESP2() -> Action {
        protocolVersion = 2
        // The SELECT of the first write (if any) ran before AUTH: its reply means nothing now.
        expected = expected.map { _ in .ignored }
        var commands: [[RESPArgument]] = []
        if let password {
            commands.append(username.map { ["AUTH", .string($0), .string(password)] } ?? ["AUTH", .string(password)])
            expected.append(.auth)
        }
        if let clientName {
            commands.append(["CLIENT", "SETNAME", .string(clientName)])
            expected.append(.setName)
        }
        if database != 0 {
            commands.append(["SELECT", .integer(Int64(database))])
            expected.append(.select)
        }
        if commands.isEmpty { return expected.isEmpty ? .ready(protocolVersion: 2) : .wait }
        return .send(commands)
    }

    private static func isAuthenticationFailure(_ error: String) -> Bool {
        let code = error.prefix { $0 != " " }
        return code == "WRONGPASS" || code == "NOAUTH" || code == "NOPERM"
            || error.lowercased().contains("invalid password")
            || error.lowercased().contains("invalid username-password")
    }
}

/// What a server said about itself in its `HELLO` reply.
public struct RedisServerInfo: Sendable, Equatable {
    /// `standalone`, `cluster` or `sentinel`; nil when unknown (a RESP2 server).
    public var mode: String?
    /// `master` or `replica`; nil when unknown.
    public var role: String?

    /// Nothing known.
    public init(mode: String? = nil, role: String? = nil) {
        self.mode = mode
        self.role = role
    }

    /// Reads the `mode` and `role` fields of a `HELLO` map (or flat array, as RESP2 shapes it).
    init(helloReply reply: RESPValue) {
        var fields: [(String?, RESPValue)] = []
        switch reply {
        case .map(let entries):
            fields = entries.map { ($0.key.string, $0.value) }
        case .array(let flat):
            fields = stride(from: 0, to: flat.count - 1, by: 2).map { (flat[$0].string, flat[$0 + 1]) }
        default:
            break
        }
        for (key, value) in fields {
            if key == "mode" { mode = value.string }
            if key == "role" { role = value.string }
        }
    }
}
