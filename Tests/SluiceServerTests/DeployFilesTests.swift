import Foundation
import SluiceTestSupport
import Testing

@testable import SluiceServer

/// The files under deploy/ are what operators copy, so the test command checks them: every JSON
/// and YAML file parses, every config loads, and every way they start Sluice — compose
/// commands, Kubernetes args, the systemd `ExecStart`, the Dockerfile's `CMD` — passes
/// `sluice --check` with its config file in place (so every flag and config field exists).
@Suite struct DeployFilesTests {
    private static let deploy = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("deploy")
    /// Where every deployment mounts the config file.
    private static let mountedConfig = "/etc/sluice/sluice.json"

    @Test func exampleConfigsLoad() throws {
        let files = try Self.files(endingWith: [".json"])
        #expect(!files.isEmpty)
        for file in files {
            var configuration = ServerConfiguration()
            try configuration.load(file: file.path)
            #expect(!configuration.rules.isEmpty, "\(file.lastPathComponent)")
        }
    }

    @Test func composeFilesStartSluiceWithFlagsAndConfigsThatExist() async throws {
        let files = try Self.files(endingWith: [".yml"]).filter { $0.path.contains("/compose/") }
        #expect(files.count == 3, "redis, sentinel and cluster")
        for file in files {
            let documents = try await Self.yamlDocuments(file)
            let compose = try #require(documents.first as? [String: Any], "\(file.lastPathComponent)")
            let services = try #require(compose["services"] as? [String: Any])
            let sluice = try #require(services["sluice"] as? [String: Any], "\(file.lastPathComponent) runs sluice")
            let build = try #require(sluice["build"] as? [String: Any])
            let context = file.deletingLastPathComponent().appendingPathComponent(build["context"] as! String)
            #expect(
                FileManager.default.fileExists(
                    atPath: context.appendingPathComponent(build["dockerfile"] as! String).path))
            var configFile: URL?
            if let mounts = sluice["configs"] as? [[String: Any]], let mount = mounts.first {
                #expect(mount["target"] as? String == Self.mountedConfig)
                let configs = try #require(compose["configs"] as? [String: Any])
                let source = try #require(configs[mount["source"] as! String] as? [String: Any])
                configFile = file.deletingLastPathComponent().appendingPathComponent(source["file"] as! String)
            }
            try await Self.expectSluiceAccepts(
                try #require(sluice["command"] as? [String]), config: configFile, in: file.lastPathComponent)
        }
    }

    @Test func kubernetesManifestsFitTogether() async throws {
        var documents: [[String: Any]] = []
        for file in try Self.files(endingWith: [".yaml"]) {
            documents += try await Self.yamlDocuments(file).compactMap { $0 as? [String: Any] }
        }
        let kinds = Set(documents.compactMap { $0["kind"] as? String })
        #expect(kinds == ["Deployment", "Service", "ConfigMap", "PodDisruptionBudget"])

        let configMap = try #require(documents.first { $0["kind"] as? String == "ConfigMap" })
        let rules = try #require((configMap["data"] as? [String: String])?["sluice.json"])
        let configFile = FileManager.default.temporaryDirectory.appendingPathComponent("sluice-\(UUID()).json")
        try rules.write(to: configFile, atomically: true, encoding: .utf8)
        defer { try? FileManager.default.removeItem(at: configFile) }

        let deployment = try #require(documents.first { $0["kind"] as? String == "Deployment" })
        let pod = try #require(((deployment["spec"] as? [String: Any])?["template"] as? [String: Any])?["spec"])
        let container = try #require(((pod as? [String: Any])?["containers"] as? [[String: Any]])?.first)
        try await Self.expectSluiceAccepts(
            try #require(container["args"] as? [String]), config: configFile, in: "deployment.yaml")
        let ports = Set(((container["ports"] as? [[String: Any]]) ?? []).compactMap { $0["name"] as? String })
        for (probe, path) in [("readinessProbe", "/readyz"), ("livenessProbe", "/healthz")] {
            let get = try #require((container[probe] as? [String: Any])?["httpGet"] as? [String: Any], "\(probe)")
            #expect(get["path"] as? String == path, "\(probe)")
            #expect(get["port"] as? String == "admin" && ports.contains("admin"), "\(probe) asks the admin port")
        }
    }

    @Test func systemdUnitAndDockerfileStartSluiceWithFlagsThatExist() async throws {
        let unit = try String(contentsOf: Self.deploy.appendingPathComponent("systemd/sluice.service"), encoding: .utf8)
        let execStart = try #require(unit.split(separator: "\n").first { $0.hasPrefix("ExecStart=") })
        let command = execStart.dropFirst("ExecStart=".count).split(separator: " ").map(String.init)
        #expect(command.first == "/usr/local/bin/sluice")
        try await Self.expectSluiceAccepts(
            Array(command.dropFirst()), config: Self.deploy.appendingPathComponent("sluice.example.json"),
            in: "sluice.service")

        let dockerfile = try String(
            contentsOf: Self.deploy.appendingPathComponent("docker/Dockerfile"), encoding: .utf8)
        let cmd = try #require(dockerfile.split(separator: "\n").first { $0.hasPrefix("CMD ") })
        let arguments = try JSONSerialization.jsonObject(with: Data(cmd.dropFirst("CMD ".count).utf8)) as? [String]
        try await Self.expectSluiceAccepts(try #require(arguments), config: nil, in: "Dockerfile")
        let root = Self.deploy.deletingLastPathComponent()
        for line in dockerfile.split(separator: "\n") where line.hasPrefix("COPY ") && !line.contains("--from") {
            let source = line.split(separator: " ")[1]
            #expect(FileManager.default.fileExists(atPath: root.appendingPathComponent(String(source)).path), "\(line)")
        }
    }

    /// Runs `sluice <arguments> --check`, with the deployment's config path pointing at `config`.
    private static func expectSluiceAccepts(_ arguments: [String], config: URL?, in file: String) async throws {
        let local = arguments.map { $0 == mountedConfig ? (config?.path ?? $0) : $0 }
        #expect(!arguments.contains(mountedConfig) || config != nil, "\(file) names a config it does not mount")
        let checked = try await SluiceProcess.run(local + ["--check"])
        #expect(checked.status == 0, "\(file): sluice \(arguments.joined(separator: " ")): \(checked.errors)")
    }

    private static func files(endingWith suffixes: [String]) throws -> [URL] {
        let enumerator = try #require(FileManager.default.enumerator(at: deploy, includingPropertiesForKeys: nil))
        return enumerator.compactMap { $0 as? URL }.filter { url in suffixes.contains { url.path.hasSuffix($0) } }
    }

    /// Every document of a YAML file, parsed by PyYAML (Foundation has no YAML parser, and a
    /// real one is the point: the files must load in the tools operators feed them to).
    private static func yamlDocuments(_ file: URL) async throws -> [Any] {
        let (status, json, problem) = try await offPool { () throws -> (Int32, Data, String) in
            let process = Process()
            process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
            process.arguments = [
                "python3", "-c",
                "import json, sys, yaml; print(json.dumps(list(yaml.safe_load_all(open(sys.argv[1])))))", file.path,
            ]
            let output = Pipe()
            let errors = Pipe()
            process.standardOutput = output
            process.standardError = errors
            try process.run()
            let json = output.fileHandleForReading.readDataToEndOfFile()
            let problem = String(decoding: errors.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
            process.waitUntilExit()
            return (process.terminationStatus, json, problem)
        }
        guard status == 0 else {
            Issue.record(
                """
                \(file.lastPathComponent) did not parse as YAML (python3 with PyYAML reads it; \
                install with `apt-get install python3-yaml` or `pip install pyyaml`): \(problem)
                """)
            return []
        }
        return try JSONSerialization.jsonObject(with: json) as? [Any] ?? []
    }
}
