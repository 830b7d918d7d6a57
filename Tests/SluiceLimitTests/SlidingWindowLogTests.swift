import SluiceTestSupport
import Testing

@testable import SluiceLimit

@Suite struct SlidingWindowLogTests {
    private let policy = try! RateLimitPolicy(algorithm: .slidingWindow, limit: 3, window: .seconds(1))

    @Test func entriesExpireOneWindowAfterTheyWereRecorded() {
        var log = SlidingWindowLog()
        let first = log.check(cost: 1, now: 0, policy: policy)
        #expect(
            first
                == Decision(
                    allowed: true, limit: 3, remaining: 2, resetAfter: .seconds(1), retryAfter: .zero, countedAt: 0))
        #expect(log.check(cost: 1, now: 100, policy: policy).remaining == 1)
        let last = log.check(cost: 1, now: 200, policy: policy)
        #expect(
            last
                == Decision(
                    allowed: true, limit: 3, remaining: 0, resetAfter: .seconds(1), retryAfter: .zero, countedAt: 200))

        let denied = log.check(cost: 1, now: 500, policy: policy)
        #expect(
            denied
                == Decision(
                    allowed: false,
                    limit: 3,
                    remaining: 0,
                    resetAfter: .milliseconds(700),
                    retryAfter: .milliseconds(500)
                )
        )
        #expect(!log.check(cost: 1, now: 999, policy: policy).allowed)

        let oldestExpired = log.check(cost: 1, now: 1_000, policy: policy)
        #expect(
            oldestExpired
                == Decision(
                    allowed: true, limit: 3, remaining: 0, resetAfter: .seconds(1), retryAfter: .zero, countedAt: 1_000)
        )
    }

    /// As the Redis script, which drops runs once expired: a check whose clock reads a moment behind another's
    /// (each event loop reads its own) does not bring back units the other saw expire.
    @Test func unitsSeenExpiredStayExpiredWhenTheClockGoesBack() {
        var log = SlidingWindowLog()
        for now: Int64 in [0, 100, 200] {
            _ = log.check(cost: 1, now: now, policy: policy)
        }
        // At 1,050 the unit of 0 has expired; a denial keeps every run stored.
        #expect(log.check(cost: 3, now: 1_050, policy: policy).remaining == 1)
        // A check at 900 comes after that one: the unit of 0 stays expired, so one unit fits.
        let afterStepBack = log.check(cost: 1, now: 900, policy: policy)
        #expect(afterStepBack.allowed)
        #expect(afterStepBack.remaining == 0)
    }

    @Test func deniedRequestConsumesNothing() {
        var log = SlidingWindowLog()
        _ = log.check(cost: 1, now: 0, policy: policy)
        _ = log.check(cost: 1, now: 200, policy: policy)
        let before = log

        // Two units are live (0 and 200); two more need the one at 0 to expire.
        let denied = log.check(cost: 2, now: 300, policy: policy)
        #expect(!denied.allowed)
        #expect(denied.remaining == 1)
        #expect(denied.retryAfter == .milliseconds(700))
        #expect(denied.resetAfter == .milliseconds(900))
        #expect(log == before)

        let single = log.check(cost: 1, now: 300, policy: policy)
        #expect(single.allowed)
        #expect(single.remaining == 0)
    }

    @Test func retryAfterWaitsForAsManyUnitsAsTheRequestNeeds() throws {
        let policy = try RateLimitPolicy(algorithm: .slidingWindow, limit: 10, window: .seconds(1))
        var log = SlidingWindowLog()
        _ = log.check(cost: 4, now: 0, policy: policy)
        _ = log.check(cost: 3, now: 100, policy: policy)
        _ = log.check(cost: 3, now: 200, policy: policy)
        // Full. Cost 5 needs the 4 units at 0 and one of those at 100 to expire.
        #expect(log.check(cost: 5, now: 250, policy: policy).retryAfter == .milliseconds(850))
        #expect(log.check(cost: 4, now: 250, policy: policy).retryAfter == .milliseconds(750))
        #expect(log.check(cost: 8, now: 250, policy: policy).retryAfter == .milliseconds(950))
    }

    @Test func costAboveLimitIsDeniedWithResetAfter() {
        var log = SlidingWindowLog()
        let empty = log.check(cost: 4, now: 0, policy: policy)
        #expect(empty == Decision(allowed: false, limit: 3, remaining: 3, resetAfter: .zero, retryAfter: .zero))
        _ = log.check(cost: 1, now: 0, policy: policy)
        let used = log.check(cost: 4, now: 10, policy: policy)
        #expect(used.retryAfter == .milliseconds(990))
        #expect(used.resetAfter == used.retryAfter)
    }

    @Test func expiresWithItsNewestEntry() {
        var log = SlidingWindowLog()
        #expect(log.expiresAt(policy: policy) == .min)
        _ = log.check(cost: 1, now: 10, policy: policy)
        _ = log.check(cost: 1, now: 70, policy: policy)
        #expect(log.expiresAt(policy: policy) == 1_070)
    }

    @Test func survivesAYearIdle() {
        var log = SlidingWindowLog()
        let start: Int64 = 1_700_000_000_000
        _ = log.check(cost: 3, now: start, policy: policy)
        let yearLater = log.check(cost: 3, now: start + 366 * 86_400_000, policy: policy)
        #expect(
            yearLater
                == Decision(
                    allowed: true, limit: 3, remaining: 0, resetAfter: .seconds(1), retryAfter: .zero,
                    countedAt: start + 366 * 86_400_000)
        )
    }

    @Test func clockGoingBackwardsOnlyMakesItStricter() {
        var log = SlidingWindowLog()
        _ = log.check(cost: 1, now: 5_000, policy: policy)
        let earlier = log.check(cost: 1, now: 4_000, policy: policy)
        #expect(earlier.allowed)
        #expect(earlier.countedAt == 5_000)
        #expect(earlier.resetAfter == .seconds(2))
        #expect(log.expiresAt(policy: policy) == 6_000)
    }

    @Test func neverAllowsMoreThanTheLimitInAnyWindow() throws {
        let limit = 10
        let window: Int64 = 1_000
        let policy = try RateLimitPolicy(algorithm: .slidingWindow, limit: limit, window: .milliseconds(window))
        var generator = SplitMix64(seed: 0x5EED)
        var log = SlidingWindowLog()
        var allowedUnits: [(time: Int64, units: Int)] = []
        var now: Int64 = 1_700_000_000_000
        for _ in 0..<5_000 {
            now += Int64.random(in: 0..<120, using: &generator)
            let cost = Int.random(in: 1...3, using: &generator)
            let decision = log.check(cost: cost, now: now, policy: policy)
            // Every decision matches a brute-force count of the units in (now - window, now].
            let inWindow = allowedUnits.reversed().prefix { $0.time > now - window }.reduce(0) { $0 + $1.units }
            #expect(decision.allowed == (inWindow + cost <= limit))
            #expect(decision.remaining == limit - inWindow - (decision.allowed ? cost : 0))
            if decision.allowed {
                allowedUnits.append((now, cost))
            }
        }
        // No interval (t - window, t] holds more than `limit` units; the busiest ones end at an arrival.
        var busiest = 0
        var oldest = 0
        var unitsInWindow = 0
        for newest in allowedUnits.indices {
            unitsInWindow += allowedUnits[newest].units
            while allowedUnits[oldest].time <= allowedUnits[newest].time - window {
                unitsInWindow -= allowedUnits[oldest].units
                oldest += 1
            }
            busiest = max(busiest, unitsInWindow)
        }
        #expect(busiest == limit)
        #expect(allowedUnits.count > 500)
        // Expired runs are discarded as it goes: storage stays near one window's worth of runs.
        #expect(log.storedRunCapacity <= 4 * limit)
    }

    @Test func aRefundTakesUnitsOutOfTheirOwnMillisecond() {
        var log = SlidingWindowLog()
        _ = log.check(cost: 2, now: 0, policy: policy)
        _ = log.check(cost: 1, now: 100, policy: policy)
        log.refund(cost: 1, countedAt: 0)
        let refilled = log.check(cost: 1, now: 150, policy: policy)
        #expect(refilled.allowed)
        #expect(!log.check(cost: 1, now: 150, policy: policy).allowed)

        // The refunded unit was one of those at 0: the one left there expires at 1,000.
        #expect(log.check(cost: 1, now: 1_000, policy: policy).allowed)

        log.refund(cost: 1, countedAt: 100)  // empties that millisecond's run
        log.refund(cost: 1, countedAt: 7)  // nothing was counted then
        let afterEmptyRun = log.check(cost: 1, now: 1_050, policy: policy)
        #expect(afterEmptyRun.allowed && afterEmptyRun.remaining == 0)
        #expect(log.check(cost: 1, now: 1_050, policy: policy).retryAfter == .milliseconds(100))
    }

    /// A cost far beyond any limit is denied, never summed into an overflow.
    @Test func aHugeCostIsDeniedWithoutOverflow() {
        var log = SlidingWindowLog()
        _ = log.check(cost: 1, now: 0, policy: policy)
        let denied = log.check(cost: .max, now: 0, policy: policy)
        #expect(!denied.allowed && denied.remaining == 2 && denied.retryAfter == denied.resetAfter)
    }
}
