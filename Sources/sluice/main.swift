import Dispatch
import Foundation
import SluiceRedis
import SluiceServer

setvbuf(stdout, nil, _IOLBF, 0)  // the banner reaches a pipe or a log at once
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
    let (listen, admin) = try app.start()
    print("sluice listening on http://\(listen) (target mode), admin on http://\(admin)")
    print("store: \(configuration.store == "memory" ? "memory" : RedisConfiguration.redacted(configuration.store))")
    for rule in configuration.rules { print("rule: \(RuleSummary.describe(rule))") }
    ServerLog.event("started", ["listen": listen.description, "admin": admin.description])
    SignalHandling.install(app: app, flags: flags, environment: environment)
    dispatchMain()
} catch {
    FileHandle.standardError.write(Data("sluice: \(error)\n".utf8))
    exit(2)
}
