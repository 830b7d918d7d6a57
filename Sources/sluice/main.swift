import Dispatch
import Foundation
import SluiceRedis
import SluiceServer

// Before any thread starts, so that every thread inherits the mask (see SignalHandling).
SignalHandling.blockSignals()
let environment = ProcessInfo.processInfo.environment
let flags: [String: String]
do {
    switch try CommandLineOptions.parse(Array(CommandLine.arguments.dropFirst()), environment: environment) {
    case .print(let text):
        print(text)
        exit(0)
    case .check(let values):
        let configuration = try CommandLineOptions.configuration(flags: values, environment: environment)
        try SluiceApp.check(configuration)
        print(summary(of: configuration).joined(separator: "\n"))
        print("configuration OK")
        exit(0)
    case .run(let values):
        flags = values
    }
    let configuration = try CommandLineOptions.configuration(flags: flags, environment: environment)
    let app = try SluiceApp(configuration: configuration)
    let (listen, admin) = try app.start()
    let banner =
        [
            "sluice listening on http://\(listen) (\(configuration.upstream.map { "proxy mode to \($0)" } ?? "target mode")), admin on http://\(admin)"
        ] + summary(of: configuration)
    // Written unbuffered, so a pipe or a log file has it before the first request.
    FileHandle.standardOutput.write(Data((banner.joined(separator: "\n") + "\n").utf8))
    ServerLog.event("started", ["listen": listen.description, "admin": admin.description])
    // Signals sent since the first line (the mask keeps them pending) are handled from here.
    SignalHandling.serve(app: app, flags: flags, environment: environment)
} catch {
    FileHandle.standardError.write(Data("sluice: \(error)\n".utf8))
    exit(2)
}

/// The store (credentials hidden) and the rules, a line each: for the start-up banner and `--check`.
func summary(of configuration: ServerConfiguration) -> [String] {
    ["store: \(configuration.store == "memory" ? "memory" : RedisConfiguration.redacted(configuration.store))"]
        + configuration.rules.map { "rule: \(RuleSummary.describe($0))" }
}
