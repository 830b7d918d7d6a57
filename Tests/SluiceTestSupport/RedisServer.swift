import Foundation
import SluiceNet

#if canImport(Glibc)
    import Glibc
#endif

/// A real `redis-server` process on a free loopback port, for integration tests.
///
/// Started with its configuration on the command line and no persistence; stopped by PID.
/// Prefer ``withRedisServer(_:_:)``, which stops the server even when the test fails.
///
/// ```swift
/// try await withRedisServer(["--requirepass", "secret"]) { server in
///     let client = try RedisClient(url: "redis://:secret@\(server.address)")
///     defer { client.shutdown() }
///     #expect(try await client.send("PING").string == "PONG")
/// }
/// ```
public final class RedisServer: @unchecked Sendable {
    /// The loopback port it listens on.
    public private(set) var port: Int
    /// Extra `redis-server` arguments it was started with.
    public let arguments: [String]
    /// `127.0.0.1:<port>`.
    public var address: String { "127.0.0.1:\(port)" }
    /// `redis://127.0.0.1:<port>`.
    public var url: String { "redis://\(address)" }
    /// The server's working directory (its log, `nodes.conf`, a sentinel's config file).
    public private(set) var directory: URL
    private let sentinelConfiguration: String?
    private var process: Process?

    /// Starts a server and waits until it answers `PING`.
    public init(_ arguments: [String] = [], port: Int? = nil) throws {
        self.port = try port ?? FreePort.pick()
        self.arguments = arguments
        self.sentinelConfiguration = nil
        directory = Self.makeDirectory(port: self.port)
        try startOnAFreePort(retrying: port == nil)
    }

    /// Starts a Redis Sentinel with `configuration` (its `sentinel …` lines) and waits until it answers.
    public init(sentinelConfiguration configuration: String) throws {
        self.port = try FreePort.pick()
        self.arguments = []
        self.sentinelConfiguration = configuration
        directory = Self.makeDirectory(port: self.port)
        try startOnAFreePort(retrying: true)
    }

    /// Starts the server; when the picked port turns out taken (another test's server, or a
    /// connection's local port, got it first), picks another, a few times.
    private func startOnAFreePort(retrying: Bool) throws {
        for attempt in 1...5 {
            try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
            do {
                return try start()
            } catch let error as FixtureError where retrying && attempt < 5 && error.portTaken {
                try? FileManager.default.removeItem(at: directory)
                port = try FreePort.pick()
                directory = Self.makeDirectory(port: port)
            }
        }
    }

    private static func makeDirectory(port: Int) -> URL {
        FileManager.default.temporaryDirectory.appendingPathComponent("sluice-redis-\(port)-\(UUID())")
    }

    deinit {
        stop()
        try? FileManager.default.removeItem(at: directory)
    }

    /// The process ID while running.
    public var pid: Int32? { process.map { $0.processIdentifier } }

    /// The server's log, for failure messages.
    public var log: String {
        (try? String(contentsOf: directory.appendingPathComponent("redis.log"), encoding: .utf8)) ?? ""
    }

    /// Starts the process again on the same port (after ``stop()``).
    public func start() throws {
        precondition(process == nil, "redis-server on port \(port) is already running")
        _ = Self.orphansStopped
        let process = Process()
        process.executableURL = try Self.executable("redis-server")
        let logFile = directory.appendingPathComponent("redis.log").path
        if let sentinelConfiguration {
            // A sentinel rewrites its config file, so it needs one of its own.
            let file = directory.appendingPathComponent("sentinel.conf")
            if !FileManager.default.fileExists(atPath: file.path) {
                try "\(sentinelConfiguration)\n".write(to: file, atomically: true, encoding: .utf8)
            }
            process.arguments = [
                file.path, "--sentinel", "--port", String(port), "--bind", "127.0.0.1", "--daemonize", "no",
                "--dir", directory.path, "--logfile", logFile,
            ]
        } else {
            process.arguments =
                [
                    "--port", String(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
                    "--daemonize", "no", "--dir", directory.path, "--logfile", logFile,
                ] + arguments
        }
        try process.run()
        self.process = process
        let deadline = Date().addingTimeInterval(10)
        // Ready when the server on the port answers and is this process: a server that could not
        // bind exits, and the one answering would be someone else's.
        while !(Self.answersPing(port: port) && Self.isServed(port: port, by: process)) {
            guard process.isRunning, Date() < deadline else {
                let exited = !process.isRunning
                stop()
                throw FixtureError(
                    "redis-server on port \(port) did not become ready; its log:\n\(log)",
                    portTaken: exited && log.contains("Address already in use"))
            }
            usleep(10_000)
        }
    }

    /// ``stopOrphanedServers()``, once per test process before its first server starts.
    private static let orphansStopped: Void = stopOrphanedServers()

    /// Stops the servers of test runs that ended without stopping them (they crashed, or were
    /// killed), and removes their directories. Such a server is known by its working directory
    /// (its `--dir`, under ``makeDirectory(port:)``'s prefix) and by its parent: it was handed to
    /// init (PID 1) when its test process died, while a live run's servers are still its children.
    public static func stopOrphanedServers() {
        let prefix = FileManager.default.temporaryDirectory.appendingPathComponent("sluice-redis-").path
        let pids = (try? FileManager.default.contentsOfDirectory(atPath: "/proc"))?.compactMap { Int32($0) } ?? []
        for pid in pids {
            guard let name = try? String(contentsOfFile: "/proc/\(pid)/comm", encoding: .utf8),
                name.hasPrefix("redis-server"),
                let status = try? String(contentsOfFile: "/proc/\(pid)/status", encoding: .utf8),
                status.contains("\nPPid:\t1\n"),
                let directory = try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/\(pid)/cwd"),
                directory.hasPrefix(prefix)
            else { continue }
            Glibc.kill(pid, SIGKILL)
            try? FileManager.default.removeItem(atPath: directory)
        }
    }

    /// Whether the server answering on `port` is `process`: its `INFO` names the process; one
    /// that wants a password cannot say, so the process must still be running a moment later.
    private static func isServed(port: Int, by process: Process) -> Bool {
        guard let info = request("INFO server\r\n", port: port, replyBytes: 8192) else { return false }
        if info.hasPrefix("-NOAUTH") {
            usleep(50_000)
            return process.isRunning
        }
        return info.contains("process_id:\(process.processIdentifier)\r\n")
    }

    /// Kills the process with SIGKILL, as a crash would, and waits for it to end.
    ///
    /// SIGKILL, not SIGTERM: the server keeps no data, and a child of the test runner may
    /// inherit a signal mask that blocks SIGTERM (seen here: a 5 s wait for nothing).
    public func stop() {
        guard let process else { return }
        self.process = nil
        let pid = process.processIdentifier
        Glibc.kill(pid, SIGKILL)
        while !Self.hasExited(pid) { usleep(1_000) }
    }

    /// Reaps `pid` if it has ended. Foundation may reap it first, in which case `waitpid`
    /// reports `ECHILD`: gone as well.
    private static func hasExited(_ pid: Int32) -> Bool {
        var status: Int32 = 0
        let result = waitpid(pid, &status, WNOHANG)
        return result == pid || (result == -1 && errno == ECHILD)
    }

    /// Runs `redis-cli -p <port> <arguments>` and returns what it printed.
    @discardableResult
    public func cli(_ arguments: [String]) throws -> String {
        try Self.runCLI(["-p", String(port)] + arguments)
    }

    /// Runs `redis-cli` with `arguments` and returns what it printed; a non-zero exit throws.
    @discardableResult
    public static func runCLI(_ arguments: [String]) throws -> String {
        let process = Process()
        process.executableURL = try executable("redis-cli")
        process.arguments = arguments
        let output = Pipe()
        process.standardOutput = output
        process.standardError = output
        try process.run()
        let data = output.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        let text = String(decoding: data, as: UTF8.self)
        guard process.terminationStatus == 0 else {
            throw FixtureError("redis-cli \(arguments.joined(separator: " ")) failed: \(text)")
        }
        return text
    }

    /// Finds `name` on `PATH` (and in `/usr/sbin`, `/usr/bin`), or fails loudly with the install command.
    public static func executable(_ name: String) throws -> URL {
        let path = ProcessInfo.processInfo.environment["PATH"] ?? ""
        for directory in path.split(separator: ":").map(String.init) + ["/usr/sbin", "/usr/bin", "/usr/local/bin"] {
            let candidate = URL(fileURLWithPath: directory).appendingPathComponent(name)
            if FileManager.default.isExecutableFile(atPath: candidate.path) { return candidate }
        }
        throw FixtureError(
            "\(name) is not installed, and the Redis integration tests need it. "
                + "Install it with: sudo apt-get install -y redis-server redis-tools "
                + "(or run ./scripts/test, which installs it)")
    }

    /// Sends one `PING` over a blocking socket; true when `+PONG` (or an auth error, which means alive) comes back.
    static func answersPing(port: Int) -> Bool {
        guard let reply = request("PING\r\n", port: port, replyBytes: 64) else { return false }
        return reply.hasPrefix("+PONG") || reply.hasPrefix("-NOAUTH")
    }

    /// Sends an inline command on a fresh connection and returns what one read brings back.
    private static func request(_ command: String, port: Int, replyBytes: Int) -> String? {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { return nil }
        defer { close(fd) }
        var timeout = timeval(tv_sec: 1, tv_usec: 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        guard case .v4(var address) = try? SocketAddress(ip: "127.0.0.1", port: port) else { return nil }
        let connected = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                Glibc.connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
            }
        }
        guard connected == 0 else { return nil }
        let bytes = Array(command.utf8)
        guard send(fd, bytes, bytes.count, Int32(MSG_NOSIGNAL)) == bytes.count else { return nil }
        var reply = [UInt8](repeating: 0, count: replyBytes)
        let count = recv(fd, &reply, reply.count, 0)
        guard count > 0 else { return nil }
        return String(decoding: reply[0..<count], as: UTF8.self)
    }
}

/// Starts a `redis-server` for the duration of `body`, and stops it afterwards, whatever happens.
public func withRedisServer<T>(
    _ arguments: [String] = [], _ body: (RedisServer) async throws -> T
) async throws -> T {
    let server = try RedisServer(arguments)
    defer { server.stop() }
    return try await body(server)
}

/// A test fixture that could not be set up.
public struct FixtureError: Error, CustomStringConvertible {
    /// What went wrong and what to do.
    public var description: String
    /// The server could not bind its port: another process took it first.
    public var portTaken: Bool
    /// Creates an error with a message.
    public init(_ description: String, portTaken: Bool = false) {
        self.description = description
        self.portTaken = portTaken
    }
}
