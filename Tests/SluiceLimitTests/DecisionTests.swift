import SluiceLimit
import Testing

@Suite struct DecisionTests {
    @Test func timesAreKeptInWholeMillisecondsRoundedUp() {
        var decision = Decision(
            allowed: false, limit: 5, remaining: 0, resetAfter: .microseconds(1_500), retryAfter: .nanoseconds(1))
        #expect(decision.resetAfterMilliseconds == 2)
        #expect(decision.retryAfterMilliseconds == 1, "a wait is never shortened")
        #expect(decision.resetAfter == .milliseconds(2))
        #expect(decision.retryAfter == .milliseconds(1))

        decision.retryAfter = .seconds(3)
        #expect(decision.retryAfterMilliseconds == 3_000)
        decision.resetAfterMilliseconds = 250
        #expect(decision.resetAfter == .milliseconds(250))
        #expect(
            decision
                == Decision(
                    allowed: false, limit: 5, remaining: 0, resetAfterMilliseconds: 250, retryAfterMilliseconds: 3_000))
    }
}
