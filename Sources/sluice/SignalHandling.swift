import Dispatch
import Foundation
import SluiceServer

/// SIGTERM and SIGINT drain and exit; SIGHUP rereads the config (a bad file is refused with a
/// message, and the old rules keep serving).
///
/// The three signals are blocked from the first line of `main`, so every thread inherits the
/// mask, and the main thread then takes them with `sigwait`: a signal that arrives early —
/// before the server is up, or while it starts — stays pending and is handled, never lost. (A
/// dispatch signal source ignores the signal until its registration lands, which under load took
/// long enough to lose a SIGTERM sent right after start.)
enum SignalHandling {
    private static let handled = [SIGTERM, SIGINT, SIGHUP]

    /// Blocks the handled signals. Call first, before any thread starts.
    static func blockSignals() {
        var set = signalSet()
        pthread_sigmask(SIG_BLOCK, &set, nil)
    }

    /// Waits for the signals on the calling thread (the main thread) and acts on them; returns
    /// only by exiting the process.
    static func serve(app: SluiceApp, flags: [String: String], environment: [String: String]) -> Never {
        var set = signalSet()
        while true {
            var received: Int32 = 0
            guard sigwait(&set, &received) == 0 else { continue }
            if received == SIGHUP {
                reload(app, flags: flags, environment: environment)
            } else {
                ServerLog.event("draining", ["signal": received == SIGTERM ? "SIGTERM" : "SIGINT"])
                app.shutdown()
                ServerLog.event("stopped")
                exit(0)
            }
        }
    }

    private static func reload(_ app: SluiceApp, flags: [String: String], environment: [String: String]) {
        do {
            let configuration = try CommandLineOptions.configuration(flags: flags, environment: environment)
            app.reload(configuration)
            ServerLog.event("reloaded", ["rules": configuration.rules.map(\.name).joined(separator: ",")])
        } catch {
            ServerLog.event("reload_refused", ["error": "\(error)", "keeping": "the previous rules"])
        }
    }

    private static func signalSet() -> sigset_t {
        var set = sigset_t()
        sigemptyset(&set)
        for signalNumber in handled { sigaddset(&set, signalNumber) }
        return set
    }
}
