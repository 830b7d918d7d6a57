import Foundation
import SluiceServer

/// Tests that count requests against fixed windows start clear of a window's end: a window that
/// turned mid-test would start its counts over — right for a fixed window, not what the test
/// expects. (It happened: on Redis a request's two rule checks are a round trip apart, and a
/// minute turning between them counted the first request in the old window.)
enum WindowEdges {
    /// How close to a window's end a test may start.
    static let margin: Int64 = 5_000

    /// Waits out the end of any of `rules`' fixed windows that is less than ``margin`` away.
    static func startClear(of rules: [Rule]) async throws {
        for rule in rules where rule.policy.algorithm == .fixedWindow {
            if let wait = wait(beforeWindowOf: rule.policy.windowMilliseconds) {
                try await Task.sleep(for: .milliseconds(wait))
            }
        }
    }

    /// As ``startClear(of:)``, blocking, for synchronous tests of one fixed window.
    static func startClearBlocking(ofWindow window: Duration) {
        if let wait = wait(beforeWindowOf: window.components.seconds * 1_000) {
            usleep(useconds_t(wait * 1_000))
        }
    }

    /// Milliseconds until just past the current window's end when that is less than ``margin`` away.
    private static func wait(beforeWindowOf window: Int64) -> Int64? {
        let left = window - Int64(Date().timeIntervalSince1970 * 1_000) % window
        return left < margin ? left + 10 : nil
    }
}
