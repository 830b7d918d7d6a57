import Dispatch
import Foundation
import SluiceRedis
import SluiceServer

SignalHandling.unblockSignals()
let environment = ProcessInfo.processInfo.environment
let flags: [String: String]
do {
    switch try CommandLineOptions.parse(Array(CommandLine.arguments.dropFirst()), environment: environment) {
    case .print(let text):
        print(text)
        exit(0)
    case .run(let values):
        flags = values
    }
    let configuration = try CommandLineOptions.configuration(flags: flags, environment: environment)
    let app = try SluiceApp(configuration: configuration)
    // Before the banner: whoever reads "listening" may signal at once.
    SignalHandling.install(app: app, flags: flags, environment: environment)
    let (listen, admin) = try app.start()
    var banner = [
        "sluice listening on http://\(listen) (\(configuration.upstream.map { "proxy mode to \($0)" } ?? "target mode")), admin on http://\(admin)"
    ]
    banner.append(
        "store: \(configuration.store == "memory" ? "memory" : RedisConfiguration.redacted(configuration.store))")
    banner += configuration.rules.map { "rule: \(RuleSummary.describe($0))" }
    // Written unbuffered, so a pipe or a log file has it before the first request.
    FileHandle.standardOutput.write(Data((banner.joined(separator: "\n") + "\n").utf8))
    ServerLog.event("started", ["listen": listen.description, "admin": admin.description])
    dispatchMain()
} catch {
    FileHandle.standardError.write(Data("sluice: \(error)\n".utf8))
    exit(2)
}
