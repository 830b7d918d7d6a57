import Foundation
import SluiceTestSupport
import Testing

/// The Redis fixture cleans up after test runs that could not: a server whose test process died
/// is stopped by the next run, while a live run's servers are left alone.
@Suite struct RedisServerFixtureTests {
    @Test func aServerLeftByADeadTestRunIsStoppedAndALiveOneIsNot() async throws {
        try await withRedisServer { live in
            let port = try FreePort.pick()
            let directory = FileManager.default.temporaryDirectory
                .appendingPathComponent("sluice-redis-\(port)-orphan-\(UUID())")
            try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
            // A server that daemonizes is handed to init, as a dying test process leaves its
            // servers. Its launcher is not waited for: it exits once the daemon has forked.
            let launcher = Process()
            launcher.executableURL = try RedisServer.executable("redis-server")
            launcher.arguments = [
                "--port", String(port), "--bind", "127.0.0.1", "--save", "", "--daemonize", "yes",
                "--dir", directory.path, "--logfile", "redis.log",
            ]
            try launcher.run()
            let deadline = Date().addingTimeInterval(10)
            while (try? RedisServer.runCLI(["-p", String(port), "PING"])) == nil, Date() < deadline {
                usleep(20_000)
            }
            #expect(try RedisServer.runCLI(["-p", String(port), "PING"]).contains("PONG"))

            RedisServer.stopOrphanedServers()

            #expect(throws: FixtureError.self) { try RedisServer.runCLI(["-p", String(port), "PING"]) }
            #expect(!FileManager.default.fileExists(atPath: directory.path))
            #expect(try live.cli(["PING"]).contains("PONG"))
        }
    }
}
