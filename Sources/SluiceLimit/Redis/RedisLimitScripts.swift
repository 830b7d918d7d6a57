import SluiceRedis

/// The Lua scripts behind the Redis store (public only to show them: ``source(of:)``). Each mirrors, formula for formula, the algorithm
/// type of the same name under `Algorithms/`, so that both stores decide alike.
///
/// Every script takes `ARGV[1]` = now in Unix milliseconds, or `0` to read the server's `TIME`
/// (so that Sluice instances with skewed clocks agree). The fixed-window script returns one
/// decision, `{allowed (0/1), remaining, resetAfter ms, retryAfter ms}`; the sliding-window and
/// token-bucket scripts decide a batch of checks and return what their decisions are computed
/// from (see each). Every key written gets an expiry: the time after which its state no longer
/// matters, plus a grace so that a command delayed in flight, or a clock running a little
/// apart, never finds a key gone early.
/// Redis turns Lua numbers into integers on return; all arithmetic stays below 2^53, where
/// Lua's doubles are exact.
public enum RedisLimitScripts {
    /// The Lua source of an algorithm's script (for `redis-benchmark` and for reading).
    public static func source(of algorithm: String) -> String {
        switch RateLimitAlgorithm(rawValue: algorithm) {
        case .fixedWindow: fixedWindow.source
        case .slidingWindow: slidingWindow.source
        case .tokenBucket, nil: tokenBucket.source
        }
    }

    private static let now = """
        local now = tonumber(ARGV[1])
        if now == 0 then
          local time = redis.call('TIME')
          now = tonumber(time[1]) * 1000 + math.floor(tonumber(time[2]) / 1000)
        end
        """

    /// Fixed window for costs above 1 (cost 1 uses plain `INCRBY` + `PEXPIRE NX`).
    /// KEYS[1] = the window's counter. ARGV: now (unused), limit, cost, ms left in the window, grace.
    static let fixedWindow = RedisScript(
        """
        local limit, cost, left = tonumber(ARGV[2]), tonumber(ARGV[3]), tonumber(ARGV[4])
        local count = tonumber(redis.call('GET', KEYS[1]) or '0')
        if count + cost > limit then
          if count == 0 then left = 0 end  -- nothing counted: the quota is already whole
          return {0, math.max(0, limit - count), left, left}
        end
        count = redis.call('INCRBY', KEYS[1], cost)
        redis.call('PEXPIRE', KEYS[1], left + tonumber(ARGV[5]), 'NX')
        return {1, limit - count, left, 0}
        """)

    /// Sliding window log on a sorted set of one member per unit of cost, scored by time.
    /// KEYS[1] = the log, KEYS[2] = its member sequence. ARGV: now, limit, window ms, cost, grace,
    /// and the number of checks `n` (one loop turn's checks of this log, default 1). Adds `cost`
    /// members for as many of the `n` checks as fit, in order, and returns `{taken, live units
    /// before, now, resetAfter, retryAfter}`, the last two for the checks that did not fit; the
    /// store derives each check's decision as `SlidingWindowLog` does. Members go in by 1,000 per
    /// `ZADD`, under Lua's limit on `unpack`.
    static let slidingWindow = RedisScript(
        now + """

            local limit, window, cost = tonumber(ARGV[2]), tonumber(ARGV[3]), tonumber(ARGV[4])
            local checks = tonumber(ARGV[6] or '1')
            redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now - window)
            local count = redis.call('ZCARD', KEYS[1])
            local function expiresAfter(index)
              local entry = redis.call('ZRANGE', KEYS[1], index, index, 'WITHSCORES')
              if entry[2] == nil then return 0 end
              return tonumber(entry[2]) + window - now
            end
            local taken = 0
            if cost <= limit then taken = math.min(checks, math.max(0, math.floor((limit - count) / cost))) end
            if taken > 0 then
              local units = taken * cost
              local last = redis.call('INCRBY', KEYS[2], units)
              local members = {}
              for sequence = last - units + 1, last do
                members[#members + 1] = now
                members[#members + 1] = tostring(now) .. ':' .. sequence
                if #members == 2000 then
                  redis.call('ZADD', KEYS[1], unpack(members))
                  members = {}
                end
              end
              if #members > 0 then redis.call('ZADD', KEYS[1], unpack(members)) end
              redis.call('PEXPIRE', KEYS[1], window + tonumber(ARGV[5]))
              redis.call('PEXPIRE', KEYS[2], window + tonumber(ARGV[5]))
            end
            local reset, retry = 0, 0
            if taken < checks then
              reset = expiresAfter(-1)
              retry = reset
              if cost <= limit then retry = expiresAfter(count + taken * cost + cost - limit - 1) end
            end
            return {taken, count, now, reset, retry}
            """)

    /// Token bucket in fixed point: the level counts token-milliseconds (tokens × window ms), so
    /// refill is exactly `limit` per millisecond and no fraction is ever rounded away.
    /// KEYS[1] = the bucket hash {level, at}. ARGV: now, limit, window ms, burst, cost, grace, and
    /// the number of checks `n` (one loop turn's checks of this bucket, default 1). Takes `cost`
    /// tokens for as many of the `n` checks as the bucket holds, in order, and returns
    /// `{taken, level before, now}`; the store derives each check's decision as `TokenBucket` does.
    static let tokenBucket = RedisScript(
        now + """

            local limit, window = tonumber(ARGV[2]), tonumber(ARGV[3])
            local capacity, need = tonumber(ARGV[4]) * window, tonumber(ARGV[5]) * window
            local checks = tonumber(ARGV[7] or '1')
            local state = redis.call('HMGET', KEYS[1], 'level', 'at')
            local level, at = tonumber(state[1]), tonumber(state[2])
            if level == nil or at == nil then level, at = capacity, now end
            if now > at then level = math.min(capacity, level + (now - at) * limit) end
            local taken = 0
            while taken < checks and level - taken * need >= need do taken = taken + 1 end
            if taken > 0 then
              local left = level - taken * need
              redis.call('HSET', KEYS[1], 'level', string.format('%d', left), 'at', string.format('%d', math.max(now, at)))
              redis.call('PEXPIRE', KEYS[1], math.ceil((capacity - left) / limit) + tonumber(ARGV[6]))
            end
            return {taken, level, now}
            """)

    // Refunds: give back what an allowed check took, because a later rule denied the request.
    // Each leaves the key's expiry as it is (a refund only makes the state expire sooner) and
    // writes nothing to a key that has expired, so no key is ever left without an expiry.

    /// KEYS[1] = the window's counter. ARGV: limit, cost. Counts above the limit are increments
    /// of denied cost-1 requests (see `RedisStore`), so the allowed units are `min(count, limit)`.
    static let fixedWindowRefund = RedisScript(
        """
        local count = tonumber(redis.call('GET', KEYS[1]) or '-1')
        if count < 0 then return 0 end
        local target = math.max(0, math.min(count, tonumber(ARGV[1])) - tonumber(ARGV[2]))
        if count > target then redis.call('DECRBY', KEYS[1], count - target) end
        return 1
        """)

    /// KEYS[1] = the log. ARGV: when the units were counted, cost. Members counted in the same
    /// millisecond are alike, so any `cost` of them will do.
    static let slidingWindowRefund = RedisScript(
        """
        local members = redis.call('ZRANGEBYSCORE', KEYS[1], ARGV[1], ARGV[1], 'LIMIT', 0, tonumber(ARGV[2]))
        if #members > 0 then redis.call('ZREM', KEYS[1], unpack(members)) end
        return #members
        """)

    /// KEYS[1] = the bucket. ARGV: window ms, burst, cost, when the tokens were taken. Only while
    /// that take is the bucket's last change, as `TokenBucket.refund` explains.
    static let tokenBucketRefund = RedisScript(
        """
        local state = redis.call('HMGET', KEYS[1], 'level', 'at')
        local level, at = tonumber(state[1]), tonumber(state[2])
        if level == nil or at ~= tonumber(ARGV[4]) then return 0 end
        local window = tonumber(ARGV[1])
        level = math.min(tonumber(ARGV[2]) * window, level + tonumber(ARGV[3]) * window)
        redis.call('HSET', KEYS[1], 'level', string.format('%d', level))
        return 1
        """)
}
