import Foundation

#if canImport(Glibc)
    import Glibc
#endif

/// The real `sluice` binary (built by `swift build`) running as a child process on free ports,
/// for tests of what only a process has: flags, signals, exit codes, logs.
public final class SluiceProcess: @unchecked Sendable {
    /// The port clients connect to.
    public let port: Int
    /// The admin port.
    public let adminPort: Int
    private let process = Process()
    private let output: URL
    private let errors: URL

    /// Starts `sluice` with `arguments` plus `--listen`/`--admin` on free loopback ports, and waits
    /// for its start-up banner.
    public init(_ arguments: [String]) throws {
        port = try FreePort.pick()
        adminPort = try FreePort.pick()
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("sluice-\(UUID())")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        output = directory.appendingPathComponent("stdout")
        errors = directory.appendingPathComponent("stderr")
        _ = FileManager.default.createFile(atPath: output.path, contents: nil)
        _ = FileManager.default.createFile(atPath: errors.path, contents: nil)
        process.executableURL = try Self.binary()
        process.arguments = arguments + ["--listen", "127.0.0.1:\(port)", "--admin", "127.0.0.1:\(adminPort)"]
        process.standardOutput = try FileHandle(forWritingTo: output)
        process.standardError = try FileHandle(forWritingTo: errors)
        try process.run()
        try waitFor("listening on", in: { self.standardOutput })
    }

    deinit {
        if process.isRunning { Glibc.kill(process.processIdentifier, SIGKILL) }
    }

    /// Runs `sluice` with `arguments` to completion, off the cooperative pool; returns its exit
    /// status and output.
    public static func run(_ arguments: [String]) async throws -> (status: Int32, output: String, errors: String) {
        try await offPool { try runBlocking(arguments) }
    }

    private static func runBlocking(_ arguments: [String]) throws -> (status: Int32, output: String, errors: String) {
        let process = Process()
        process.executableURL = try binary()
        process.arguments = arguments
        let output = Pipe()
        let errors = Pipe()
        process.standardOutput = output
        process.standardError = errors
        try process.run()
        let outText = String(decoding: output.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        let errorText = String(decoding: errors.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        return (process.terminationStatus, outText, errorText)
    }

    /// What it printed on standard output so far.
    public var standardOutput: String { (try? String(contentsOf: output, encoding: .utf8)) ?? "" }
    /// Its log lines (standard error) so far.
    public var log: String { (try? String(contentsOf: errors, encoding: .utf8)) ?? "" }

    /// Sends `signal` to the process.
    public func send(_ signal: Int32) {
        Glibc.kill(process.processIdentifier, signal)
    }

    /// Waits (at most 10 s) until the log contains `text`.
    public func waitForLog(_ text: String) throws {
        try waitFor(text, in: { self.log })
    }

    /// Waits (at most `timeout`) for the process to exit; returns its status, or nil if it did not.
    public func waitForExit(timeout: Duration = .seconds(10)) -> Int32? {
        let deadline = ContinuousClock.now + timeout
        while process.isRunning && ContinuousClock.now < deadline { usleep(10_000) }
        return process.isRunning ? nil : process.terminationStatus
    }

    private func waitFor(_ text: String, in source: () -> String) throws {
        let deadline = ContinuousClock.now + .seconds(10)
        while !source().contains(text) {
            guard ContinuousClock.now < deadline, process.isRunning else {
                throw FixtureError("sluice never printed \"\(text)\"; stdout:\n\(standardOutput)\nstderr:\n\(log)")
            }
            usleep(10_000)
        }
    }

    /// `.build/debug/sluice` (or release), next to this package's build products.
    static func binary() throws -> URL {
        var directory = URL(fileURLWithPath: #filePath)
        for _ in 0..<3 { directory.deleteLastPathComponent() }
        for configuration in ["debug", "release"] {
            let candidate = directory.appendingPathComponent(".build/\(configuration)/sluice")
            if FileManager.default.isExecutableFile(atPath: candidate.path) { return candidate }
        }
        throw FixtureError("the sluice binary is not built; run swift build first (./scripts/test does)")
    }
}
