import SluiceRedis
import Testing

@testable import SluiceLimit

/// The store believes a batch script's reply only when it is consistent with itself: a reply that
/// says it took more than the state held (another script version, a proxy's garbage) fails the
/// checks with a store error rather than crash the process or give out negative remainders.
@Suite struct RedisBatchReplyTests {
    private static func reply(_ fields: Int64...) -> Result<RESPValue, RedisError> {
        .success(.array(fields.map { .integer($0) }))
    }

    @Test func aTokenBucketReplyIsBelievedOnlyWithinTheBucket() throws {
        // burst 10 in 1 s: capacity 10,000 token-ms, a cost-1 check needs 1,000.
        let policy = try RateLimitPolicy(algorithm: .tokenBucket, limit: 10, window: .seconds(1))
        let decide = { (reply: Result<RESPValue, RedisError>) in
            RedisStore.tokenBucketDecisions(from: reply, count: 3, cost: 1, policy: policy, key: "k")
        }

        let decisions = try decide(Self.reply(2, 2_500, 7)).get()
        #expect(decisions.map(\.allowed) == [true, true, false])
        #expect(decisions.map(\.remaining) == [1, 0, 0])

        for inconsistent in [
            Self.reply(3, 2_500, 7),  // three checks taken from two and a half tokens
            Self.reply(1, -1, 7),  // a level below empty
            Self.reply(1, 10_001, 7),  // a level above the capacity
            Self.reply(4, 10_000, 7),  // more checks taken than were sent
        ] {
            #expect(throws: RateLimitError.self) { try decide(inconsistent).get() }
        }
    }

    @Test func aSlidingWindowReplyIsBelievedOnlyWithinTheLimit() throws {
        let policy = try RateLimitPolicy(algorithm: .slidingWindow, limit: 10, window: .seconds(1))
        let decide = { (reply: Result<RESPValue, RedisError>) in
            RedisStore.slidingWindowDecisions(from: reply, count: 3, cost: 2, policy: policy, key: "k")
        }

        let decisions = try decide(Self.reply(2, 5, 7, 1_000, 400)).get()
        #expect(decisions.map(\.allowed) == [true, true, false])
        #expect(decisions.map(\.remaining) == [3, 1, 1])
        // A lowered limit leaves more counted than it allows: nothing taken is still believed.
        #expect(try decide(Self.reply(0, 15, 7, 1_000, 400)).get().map(\.remaining) == [0, 0, 0])

        for inconsistent in [
            Self.reply(3, 5, 7, 1_000, 400),  // six units logged on top of five, limit ten
            Self.reply(1, 11, 7, 1_000, 400),  // a unit logged past the limit
            Self.reply(0, -1, 7, 1_000, 400),  // fewer than no units counted
            Self.reply(1, .max, 7, 1_000, 400),  // more units counted than any limit allows
        ] {
            #expect(throws: RateLimitError.self) { try decide(inconsistent).get() }
        }
    }
}
