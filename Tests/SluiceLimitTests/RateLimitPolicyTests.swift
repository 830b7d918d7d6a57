import SluiceLimit
import Testing

@Suite struct RateLimitPolicyTests {
    private func error(
        limit: Int = 10,
        window: Duration = .seconds(1),
        burst: Int? = nil,
        algorithm: RateLimitAlgorithm = .tokenBucket
    ) -> RateLimitPolicyError? {
        do {
            _ = try RateLimitPolicy(algorithm: algorithm, limit: limit, window: window, burst: burst)
            return nil
        } catch {
            return error
        }
    }

    @Test func acceptsTheExtremes() throws {
        let smallest = try RateLimitPolicy(algorithm: .fixedWindow, limit: 1, window: .milliseconds(1))
        #expect(smallest.windowMilliseconds == 1)
        #expect(smallest.burst == 1)
        let largest = try RateLimitPolicy(
            algorithm: .slidingWindow, limit: 1_000_000_000, window: .seconds(366 * 86_400))
        #expect(largest.windowMilliseconds == 31_622_400_000)
        // The token bucket's capacity in token-milliseconds is bounded by 2^53.
        let widestBucket = try RateLimitPolicy(
            algorithm: .tokenBucket, limit: 1_000_000_000, window: .seconds(366 * 86_400), burst: 284_836
        )
        #expect(Int64(widestBucket.burst) * widestBucket.windowMilliseconds <= 1 << 53)
        let tooWide = error(limit: 1, window: .seconds(366 * 86_400), burst: 284_837)
        #expect(tooWide?.field == "burst")
        #expect(tooWide?.description.contains("2^53") == true)
    }

    @Test func burstDefaultsToLimit() throws {
        let policy = try RateLimitPolicy(algorithm: .tokenBucket, limit: 7, window: .seconds(1))
        #expect(policy.burst == 7)
        let explicit = try RateLimitPolicy(algorithm: .tokenBucket, limit: 7, window: .seconds(1), burst: 20)
        #expect(explicit.burst == 20)
        #expect(explicit.limit == 7)
    }

    @Test(arguments: [0, -1, 1_000_000_001, Int.min])
    func rejectsLimit(_ limit: Int) {
        let error = error(limit: limit)
        #expect(error?.field == "limit")
        #expect(error?.value == "\(limit)")
    }

    @Test func describesTheProblem() {
        #expect(
            error(limit: 0)?.description == "invalid rate limit: limit = 0: must be between 1 and 1000000000"
        )
    }

    @Test(arguments: [
        Duration.zero, .microseconds(500), .milliseconds(-5), .milliseconds(1.5), .seconds(366 * 86_400 + 1),
    ])
    func rejectsWindow(_ window: Duration) {
        let error = error(window: window)
        #expect(error?.field == "window")
        #expect(error?.value == "\(window)")
    }

    @Test func explainsFractionalWindow() {
        #expect(error(window: .microseconds(500))?.reason == "must be at least 1 millisecond")
        #expect(error(window: .microseconds(1500))?.reason == "must be a whole number of milliseconds")
    }

    @Test(arguments: [0, -3, 1_000_000_001])
    func rejectsBurst(_ burst: Int) {
        #expect(error(burst: burst)?.field == "burst")
    }

    @Test(arguments: [RateLimitAlgorithm.fixedWindow, .slidingWindow])
    func rejectsBurstForWindowAlgorithms(_ algorithm: RateLimitAlgorithm) {
        let error = error(burst: 10, algorithm: algorithm)
        #expect(error?.field == "burst")
        #expect(error?.value == "10")
    }

    @Test func algorithmNamesMatchConfiguration() {
        #expect(RateLimitAlgorithm.allCases.map(\.rawValue) == ["fixed-window", "sliding-window", "token-bucket"])
    }
}
