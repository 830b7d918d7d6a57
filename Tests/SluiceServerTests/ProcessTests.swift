import Foundation
import SluiceTestSupport
import Testing

/// The real binary: flags, config errors, SIGHUP reload, graceful drain.
@Suite struct ProcessTests {
    private func configFile(limit: Int, name: String) throws -> String {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("sluice-\(UUID()).json").path
        try writeRule(limit: limit, name: name, to: path)
        return path
    }

    private func writeRule(limit: Int, name: String, to path: String) throws {
        let json =
            #"{"rules": [{"name": "\#(name)", "algorithm": "fixed-window", "limit": \#(limit), "window": "1m"}]}"#
        try json.write(toFile: path, atomically: true, encoding: .utf8)
    }

    @Test func helpVersionAndBadFlags() async throws {
        let help = try await SluiceProcess.run(["--help"])
        #expect(help.status == 0)
        for flag in [
            "--config", "--listen", "--admin", "--store", "--upstream", "--algorithm", "--limit", "--window",
            "--burst", "--key", "--help", "--version", "--store-budget", "--on-store-failure",
        ] {
            #expect(help.output.contains(flag), "--help lists \(flag)")
        }
        #expect(try await SluiceProcess.run(["--version"]).output.hasPrefix("sluice "))
        let bad = try await SluiceProcess.run(["--limit", "0"])
        #expect(bad.status == 2)
        #expect(bad.errors.contains("--limit"))
        for (flags, named) in [
            (["--on-store-failure", "maybe"], "--on-store-failure"), (["--store-budget", "soon"], "--store-budget"),
            (["--store", "ftp://cache"], "store"), (["--store", "redis-sentinel://s1:26379"], "store"),
        ] {
            let refused = try await SluiceProcess.run(flags)
            #expect(refused.status == 2, "\(flags)")
            #expect(refused.errors.contains(named), "\(flags): \(refused.errors)")
        }
        let checked = try await SluiceProcess.run(["--check", "--limit", "7"])
        #expect(checked.status == 0 && checked.output.contains("configuration OK"), "\(checked.errors)")
        #expect(
            try await SluiceProcess.run(["--check", "--store", "redis://:1"]).status != 0, "--check refuses a bad store"
        )
        let unknown = try await SluiceProcess.run(["--frobnicate"])
        #expect(unknown.status == 2)
        #expect(unknown.errors.contains("unknown flag"))
        let missingFile = try await SluiceProcess.run(["--config", "/nonexistent.json"])
        #expect(missingFile.status == 2)
        #expect(missingFile.errors.contains("/nonexistent.json"))
    }

    @Test func sighupReloadsAGoodFileAndRefusesABadOne() throws {
        WindowEdges.startClearBlocking(ofWindow: .seconds(60))
        let path = try configFile(limit: 1, name: "first")
        let sluice = try SluiceProcess(["--config", path])
        #expect(sluice.standardOutput.contains("rule: first"))
        let client = try RawHTTPClient(port: sluice.port)
        #expect(try client.get("/").status == 200)
        #expect(try client.get("/").status == 429)

        try writeRule(limit: 5, name: "second", to: path)
        sluice.send(SIGHUP)
        try sluice.waitForLog(#""event":"reloaded""#)
        let afterReload = try client.get("/")
        #expect(afterReload.status == 200, "the new rule has its own counts")
        #expect(afterReload.header("X-RateLimit-Limit") == "5")

        try "{ broken".write(toFile: path, atomically: true, encoding: .utf8)
        sluice.send(SIGHUP)
        try sluice.waitForLog(#""event":"reload_refused""#)
        #expect(sluice.log.contains(path), "the refusal names the file")
        #expect(try client.get("/").header("X-RateLimit-Limit") == "5", "the old rules keep serving")
    }

    @Test func sigtermDrainsAndExitsCleanly() throws {
        let sluice = try SluiceProcess([])
        let client = try RawHTTPClient(port: sluice.port)
        #expect(try client.get("/").status == 200)
        sluice.send(SIGTERM)
        #expect(sluice.waitForExit() == 0)
        #expect(client.isClosedByPeer())
        #expect(sluice.log.contains(#""event":"draining""#))
        #expect(sluice.log.contains(#""event":"stopped""#))
    }
}
