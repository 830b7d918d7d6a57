import SluiceTestSupport
import Testing

@testable import SluiceLimit

@Suite struct FixedWindowCounterTests {
    private let policy = try! RateLimitPolicy(algorithm: .fixedWindow, limit: 3, window: .seconds(1))

    @Test func countsWithinAWindowAndStartsOverInTheNext() {
        var counter = FixedWindowCounter()
        let first = counter.check(cost: 1, now: 10_000, policy: policy)
        #expect(
            first
                == Decision(
                    allowed: true, limit: 3, remaining: 2, resetAfter: .seconds(1), retryAfter: .zero, countedAt: 10_000
                ))
        #expect(counter.check(cost: 1, now: 10_500, policy: policy).remaining == 1)

        let lastOfWindow = counter.check(cost: 1, now: 10_999, policy: policy)
        #expect(
            lastOfWindow
                == Decision(
                    allowed: true, limit: 3, remaining: 0, resetAfter: .milliseconds(1), retryAfter: .zero,
                    countedAt: 10_999)
        )
        let denied = counter.check(cost: 1, now: 10_999, policy: policy)
        #expect(
            denied
                == Decision(
                    allowed: false,
                    limit: 3,
                    remaining: 0,
                    resetAfter: .milliseconds(1),
                    retryAfter: .milliseconds(1)
                )
        )

        let firstOfNext = counter.check(cost: 1, now: 11_000, policy: policy)
        #expect(
            firstOfNext
                == Decision(
                    allowed: true, limit: 3, remaining: 2, resetAfter: .seconds(1), retryAfter: .zero, countedAt: 11_000
                )
        )
        #expect(counter.windowIndex == 11)
        #expect(counter.count == 1)
    }

    @Test func deniedRequestConsumesNothing() throws {
        let policy = try RateLimitPolicy(algorithm: .fixedWindow, limit: 5, window: .seconds(1))
        var counter = FixedWindowCounter()
        _ = counter.check(cost: 3, now: 0, policy: policy)
        let before = counter

        let denied = counter.check(cost: 3, now: 400, policy: policy)
        #expect(!denied.allowed)
        #expect(denied.remaining == 2)
        #expect(denied.retryAfter == .milliseconds(600))
        #expect(counter == before)

        let next = counter.check(cost: 1, now: 400, policy: policy)
        #expect(next.allowed)
        #expect(next.remaining == 1)
    }

    @Test func costAboveLimitIsDeniedUntilTheWindowEnds() {
        var counter = FixedWindowCounter()
        let untouched = counter.check(cost: 4, now: 5_000, policy: policy)
        #expect(
            untouched == Decision(allowed: false, limit: 3, remaining: 3, resetAfter: .zero, retryAfter: .zero)
        )
        #expect(counter == FixedWindowCounter())

        _ = counter.check(cost: 1, now: 5_000, policy: policy)
        let used = counter.check(cost: 4, now: 5_250, policy: policy)
        #expect(!used.allowed)
        #expect(used.resetAfter == .milliseconds(750))
        #expect(used.retryAfter == used.resetAfter)
    }

    @Test func windowsAlignBeforeTheEpoch() {
        var counter = FixedWindowCounter()
        let decision = counter.check(cost: 1, now: -1, policy: policy)
        #expect(counter.windowIndex == -1)
        #expect(decision.resetAfter == .milliseconds(1))
    }

    /// The window index, taken by the policy's precomputed divisor, is the floor of time ÷ window
    /// for every time: at and around window edges, far in the future and before the epoch.
    @Test(arguments: [1, 7, 1_000, 60_000, 86_400_000, 31_622_400_000] as [Int64])
    func theWindowIndexIsTheFloorOfTimeOverWindow(windowMilliseconds: Int64) throws {
        let policy = try RateLimitPolicy(
            algorithm: .fixedWindow, limit: 3, window: .milliseconds(windowMilliseconds))
        var random = SplitMix64(seed: UInt64(windowMilliseconds))
        let window = windowMilliseconds
        let known: [(time: Int64, index: Int64)] = [
            (0, 0), (window - 1, 0), (window, 1), (-1, -1), (-window, -1), (-window - 1, -2),
        ]
        for (time, index) in known {
            #expect(FixedWindowCounter.windowIndex(of: time, policy: policy) == index, "\(time) ms")
        }
        var times: [Int64] = [1, .max, .min]
        times += (0..<5_000).map { _ in Int64(bitPattern: random.next()) >> Int64.random(in: 0..<63, using: &random) }
        for time in times {
            let floor = time / windowMilliseconds - (time % windowMilliseconds < 0 ? 1 : 0)
            #expect(FixedWindowCounter.windowIndex(of: time, policy: policy) == floor, "\(time) ms")
        }
    }

    @Test func expiresWhenItsWindowEnds() {
        var counter = FixedWindowCounter()
        #expect(counter.expiresAt(policy: policy) == .min)
        _ = counter.check(cost: 1, now: 42_123, policy: policy)
        #expect(counter.expiresAt(policy: policy) == 43_000)
    }

    @Test func survivesAYearIdle() {
        var counter = FixedWindowCounter()
        let start: Int64 = 1_700_000_000_000
        for _ in 0..<3 { _ = counter.check(cost: 1, now: start, policy: policy) }
        let yearLater = counter.check(cost: 3, now: start + 366 * 86_400_000, policy: policy)
        #expect(yearLater.allowed)
        #expect(yearLater.remaining == 0)
    }

    @Test func aRefundGivesBackUnitsOfItsOwnWindowOnly() {
        var counter = FixedWindowCounter()
        let first = counter.check(cost: 2, now: 10_100, policy: policy)
        #expect(first.countedAt == 10_100)
        counter.refund(cost: 2, countedAt: 10_100, policy: policy)
        #expect(counter.count == 0)
        #expect(counter.check(cost: 3, now: 10_200, policy: policy).allowed)

        _ = counter.check(cost: 1, now: 11_000, policy: policy)
        counter.refund(cost: 3, countedAt: 10_200, policy: policy)  // window 10 is over
        #expect(counter.count == 1)
    }

    /// Each event loop reads the clock once per iteration, so a check can reach the counter with a time a moment
    /// behind the one before it, across a window edge: it counts in the newer window, which must not start over.
    @Test func aCheckWithALaggingClockCountsInTheCountersWindow() {
        var counter = FixedWindowCounter()
        for _ in 0..<3 { #expect(counter.check(cost: 1, now: 5_000, policy: policy).allowed) }
        let lagging = counter.check(cost: 1, now: 4_999, policy: policy)
        #expect(!lagging.allowed, "window 5 is full; the lagging check comes after its three")
        #expect(lagging.remaining == 0)
        #expect(counter.windowIndex == 5 && counter.count == 3)
        #expect(!counter.check(cost: 1, now: 5_001, policy: policy).allowed)
        // With room in the newer window, the lagging check takes it there, and a refund finds it.
        var roomy = FixedWindowCounter()
        _ = roomy.check(cost: 1, now: 5_000, policy: policy)
        let counted = roomy.check(cost: 1, now: 4_999, policy: policy)
        #expect(counted.allowed && counted.remaining == 1 && counted.countedAt == 5_000)
        roomy.refund(cost: 1, countedAt: counted.countedAt!, policy: policy)
        #expect(roomy.count == 1)
    }

    /// A cost far beyond any limit is denied, never summed into an overflow.
    @Test func aHugeCostIsDeniedWithoutOverflow() {
        var counter = FixedWindowCounter()
        _ = counter.check(cost: 1, now: 5_000, policy: policy)
        let denied = counter.check(cost: .max, now: 5_000, policy: policy)
        #expect(!denied.allowed && denied.remaining == 2)
    }
}
