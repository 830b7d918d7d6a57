import Dispatch
import Foundation
import SluiceServer

/// SIGTERM and SIGINT drain and exit; SIGHUP rereads the config (a bad file is refused with a
/// message, and the old rules keep serving).
enum SignalHandling {
    nonisolated(unsafe) private static var sources: [DispatchSourceSignal] = []

    static func install(app: SluiceApp, flags: [String: String], environment: [String: String]) {
        let queue = DispatchQueue(label: "sluice.signals")
        for signalNumber in [SIGTERM, SIGINT] {
            watch(signalNumber, on: queue) {
                ServerLog.event("draining", ["signal": signalNumber == SIGTERM ? "SIGTERM" : "SIGINT"])
                app.shutdown()
                ServerLog.event("stopped")
                exit(0)
            }
        }
        watch(SIGHUP, on: queue) {
            do {
                let configuration = try CommandLineOptions.configuration(flags: flags, environment: environment)
                app.reload(configuration)
                ServerLog.event("reloaded", ["rules": configuration.rules.map(\.name).joined(separator: ",")])
            } catch {
                ServerLog.event("reload_refused", ["error": "\(error)", "keeping": "the previous rules"])
            }
        }
    }

    /// A parent may start us with SIGTERM, SIGINT and SIGHUP blocked (a test runner's threads do,
    /// and children inherit the mask); blocked, they would never reach the handlers. Call first,
    /// before any thread starts, so every thread inherits the cleared mask.
    static func unblockSignals() {
        var set = sigset_t()
        sigemptyset(&set)
        for signalNumber in [SIGTERM, SIGINT, SIGHUP] { sigaddset(&set, signalNumber) }
        pthread_sigmask(SIG_UNBLOCK, &set, nil)
    }

    private static func watch(_ signalNumber: Int32, on queue: DispatchQueue, _ action: @escaping @Sendable () -> Void)
    {
        signal(signalNumber, SIG_IGN)
        let source = DispatchSource.makeSignalSource(signal: signalNumber, queue: queue)
        source.setEventHandler(handler: action)
        source.resume()
        sources.append(source)
    }
}
