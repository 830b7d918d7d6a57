import Foundation
import Testing

@testable import SluiceServer

/// The example configs under deploy/ must load: they are what operators copy.
@Suite struct DeployFilesTests {
    @Test func exampleConfigsLoad() throws {
        let deploy = URL(fileURLWithPath: #filePath)
            .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("deploy")
        let files = try FileManager.default.contentsOfDirectory(atPath: deploy.path).filter { $0.hasSuffix(".json") }
        #expect(!files.isEmpty)
        for file in files {
            var configuration = ServerConfiguration()
            try configuration.load(file: deploy.appendingPathComponent(file).path)
            #expect(!configuration.rules.isEmpty, "\(file)")
        }
    }
}
