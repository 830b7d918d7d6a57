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
/// Redis turns Lua numbers into integers on return; the arithmetic whose result counts stays
/// within 2^53, where Lua's doubles are exact (a token-bucket cost beyond that only ever makes a
/// quotient below 1). Numeric strings (arguments, stored state) are read by arithmetic,
/// `s + 0`, not `tonumber(s)` (kept where the value may be missing): Redis's Lua 5.1 `tonumber`
/// parses a string twice, at about twice the cost, and its calls were a fifth of a token-bucket
/// call's instructions inside Redis (`Benchmarks/script-instructions.sh` counts them).
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
        local now = ARGV[1] + 0
        if now == 0 then
          local time = redis.call('TIME')
          now = time[1] * 1000 + math.floor(time[2] / 1000)
        end
        """

    /// Fixed window for costs above 1 (cost 1 uses plain `INCRBY` + `PEXPIRE NX`).
    /// KEYS[1] = the window's counter. ARGV: now (unused), limit, cost, ms left in the window, grace.
    /// A counter without an expiry (a new one, or one whose cost-1 `PEXPIRE` was lost) is written
    /// with its expiry in one `SET`, so the script needs no Redis 7 option.
    static let fixedWindow = RedisScript(
        """
        local limit, cost, left = ARGV[2] + 0, ARGV[3] + 0, ARGV[4] + 0
        local count = (redis.call('GET', KEYS[1]) or 0) + 0
        if count + cost > limit then
          if count == 0 then left = 0 end  -- nothing counted: the quota is already whole
          return {0, math.max(0, limit - count), left, left}
        end
        if redis.call('PTTL', KEYS[1]) > 0 then
          count = redis.call('INCRBY', KEYS[1], cost)
        else
          count = count + cost
          redis.call('SET', KEYS[1], count, 'PX', left + ARGV[5])
        end
        return {1, limit - count, left, 0}
        """)

    /// Sliding window log in runs, as `SlidingWindowLog` keeps it: units allowed in the same
    /// millisecond share one run. KEYS[2], the summary `"<live units>:<oldest ms>:<newest
    /// ms>:<newest run's units>"`, holds the newest run; KEYS[1], a sorted set, holds the older
    /// runs as members `"<ms>:<units>"` scored by their millisecond. The oldest ms is a lower
    /// bound (a refund that empties the oldest run leaves it until the next expiry), so a check
    /// skips the set while nothing can have expired. A check of the newest millisecond reads and
    /// writes the summary alone, a check of a new one also moves the previous run into the set,
    /// and nothing grows with the cost or the limit: the log holds at most one run per
    /// millisecond of the window.
    /// ARGV: now, limit, window ms, cost, grace, and the number of checks `n` (one loop turn's
    /// checks of this log, default 1). Records `cost` units for as many of the `n` checks as fit,
    /// in order, and returns `{taken, live units before, countedAt, resetAfter, retryAfter}`:
    /// `countedAt` (the newest run's ms; `now` when nothing was taken) and `resetAfter` hold for
    /// every check, `retryAfter` for those that did not fit. The store derives each check's
    /// decision as `SlidingWindowLog` does. Like it, the log records at its newest run's time
    /// rather than `now` when that is later (a clock behind another instance's), which can only
    /// make it stricter; unlike it, runs are dropped once expired, so a clock stepping back
    /// across an expiry does not see them again. Only a check that records extends the
    /// summary's expiry. Should Redis evict a key of the log (a store for rate limits should not
    /// evict), what survives is kept: a lost summary is rebuilt from the older runs, and once
    /// the older runs are found gone the newest alone counts, at the latest one window on.
    static let slidingWindow = RedisScript(
        slidingWindowSummary + now + """

            local limit, window, cost = ARGV[2] + 0, ARGV[3] + 0, ARGV[4] + 0
            local checks = (ARGV[6] or 1) + 0
            local live, oldestAt, newestAt, newestUnits = summary()
            -- What to write back to the summary: nothing, its expiry kept, or a new expiry.
            local changed, extended = false, false
            if newestAt == nil then
              -- No summary: a new log, or an evicted summary; count the runs left, if any.
              local runs = redis.call('ZRANGE', KEYS[1], 0, -1, 'WITHSCORES')
              if #runs > 0 then
                for i = 1, #runs, 2 do live = live + units(runs[i]) end
                redis.call('ZREM', KEYS[1], runs[#runs - 1])
                oldestAt, newestAt, newestUnits = runs[2] + 0, runs[#runs] + 0, units(runs[#runs - 1])
                changed, extended = true, true
              end
            end
            if newestAt ~= nil and newestAt <= now - window then
              redis.call('DEL', KEYS[1], KEYS[2])  -- every run has expired
              live, oldestAt, newestAt, newestUnits, changed, extended = 0, nil, nil, 0, false, false
            elseif oldestAt ~= nil and oldestAt <= now - window then
              for _, run in ipairs(redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', now - window)) do
                live = live - units(run)
              end
              redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now - window)
              oldestAt = tonumber(redis.call('ZRANGE', KEYS[1], 0, 0, 'WITHSCORES')[2])
              -- No older run left: only the newest counts (also when the set itself was evicted).
              if oldestAt == nil then live, oldestAt = newestUnits, newestAt end
              changed = true
            end
            local taken = 0
            if cost <= limit then taken = math.min(checks, math.max(0, math.floor((limit - live) / cost))) end
            local at = now
            if taken > 0 then
              if newestAt ~= nil and newestAt >= now then
                at = newestAt
                newestUnits = newestUnits + taken * cost
              else
                if newestAt ~= nil then
                  redis.call('ZADD', KEYS[1], newestAt, run(newestAt, newestUnits))
                  redis.call('PEXPIRE', KEYS[1], window + ARGV[5])
                end
                oldestAt = oldestAt or now
                newestAt, newestUnits = now, taken * cost
              end
              changed, extended = true, true
            end
            local counted = live + taken * cost
            if extended then
              saveSummary(counted, oldestAt, newestAt, newestUnits, newestAt - now + window + ARGV[5])
            elseif changed then
              saveSummary(counted, oldestAt, newestAt, newestUnits)
            end
            local reset, retry = 0, 0
            if counted > 0 then reset = newestAt + window - now end
            if taken < checks then
              retry = reset
              if cost <= limit then
                -- The next check fits once the oldest `counted + cost - limit` units have expired:
                -- the older runs first, then the newest.
                local needed, index = counted + cost - limit, 0
                while needed > 0 do
                  local runs = redis.call('ZRANGE', KEYS[1], index, index + 99, 'WITHSCORES')
                  if #runs == 0 then break end
                  for i = 1, #runs, 2 do
                    needed = needed - units(runs[i])
                    if needed <= 0 then
                      retry = runs[i + 1] + window - now
                      break
                    end
                  end
                  index = index + 100
                end
              end
            end
            return {taken, live, at, reset, retry}
            """)

    /// What both sliding-window scripts share: `units(run)` of a member `"<ms>:<units>"`,
    /// `run(ms, units)` to make one, `summary()`: live units, oldest and newest ms and the
    /// newest run's units from KEYS[2] (`0, nil, nil, 0` when there is none, or one not in this
    /// form, which is then rebuilt as a lost summary is), and `saveSummary`,
    /// which writes them back with a new expiry in ms, or keeping the one there is.
    private static let slidingWindowSummary = """
        local function units(run) return string.match(run, ':(%d+)$') + 0 end
        local function run(at, count) return string.format('%d:%d', at, count) end
        local function summary()
          local state = redis.call('GET', KEYS[2])
          if not state then return 0, nil, nil, 0 end
          local live, oldest, newest, count = string.match(state, '^(%d+):(%d+):(%d+):(%d+)$')
          if not count then return 0, nil, nil, 0 end
          return live + 0, oldest + 0, newest + 0, count + 0
        end
        local function saveSummary(live, oldest, newest, count, ttl)
          local state = string.format('%d:%d:%d:%d', live, oldest, newest, count)
          if ttl then
            redis.call('SET', KEYS[2], state, 'PX', ttl)
          else
            redis.call('SET', KEYS[2], state, 'KEEPTTL')
          end
        end

        """

    /// Token bucket in fixed point: the level counts token-milliseconds (tokens × window ms), so
    /// refill is exactly `limit` per millisecond and no fraction is ever rounded away.
    /// KEYS[1] = the bucket, a string `"<level>:<ms of the last take>"`: one `GET` to read it and
    /// one `SET … PX` to write it and its expiry, where a hash took `HMGET`, `HSET` and `PEXPIRE`
    /// (8% fewer instructions a call inside Redis). ARGV: now, limit, the capacity (burst × window
    /// ms), what a check takes (cost × window ms), grace, and the number of checks `n` (one loop
    /// turn's checks of this bucket, default 1). Takes `need` for as many of the `n` checks as the bucket
    /// holds, in order, and returns `{taken, level before, now}`; the store derives each check's
    /// decision as `TokenBucket` does. The checks that fit are `floor(level / need)`: a quotient
    /// that rounds up to the next integer is taken back one, so the count is exact while the
    /// level stays within 2^53 (``RateLimitPolicy`` keeps capacities there).
    static let tokenBucket = RedisScript(
        tokenBucketState + now + """

            local limit, capacity, need = ARGV[2] + 0, ARGV[3] + 0, ARGV[4] + 0
            local checks = (ARGV[6] or 1) + 0
            local level, at = bucket()
            if level == nil or at == nil then level, at = capacity, now end
            if now > at then level = level + (now - at) * limit end
            level = math.min(capacity, level)  -- also when the burst was lowered since the last take
            local taken = math.min(checks, math.floor(level / need))
            if taken * need > level then taken = taken - 1 end
            if taken > 0 then
              local left = level - taken * need
              local ttl = math.ceil((capacity - left) / limit) + ARGV[5]
              redis.call('SET', KEYS[1], string.format('%d:%d', left, math.max(now, at)), 'PX', ttl)
            end
            return {taken, level, now}
            """)

    /// What both token-bucket scripts share: `bucket()`, the level and the ms of the last take
    /// stored at KEYS[1] (`nil, nil` when there is none). A bucket written before the string
    /// form was a hash `{level, at}`: it is read as such (`GET` answers `WRONGTYPE`), and the
    /// next write replaces it with the string.
    private static let tokenBucketState = """
        local function bucket()
          local state = redis.pcall('GET', KEYS[1])
          if type(state) == 'table' then
            local fields = redis.call('HMGET', KEYS[1], 'level', 'at')
            return tonumber(fields[1]), tonumber(fields[2])
          end
          if not state then return nil, nil end
          local level, at = string.match(state, '^(%d+):(%d+)$')
          if not at then return nil, nil end
          return level + 0, at + 0
        end

        """

    // Refunds: give back what an allowed check took, because a later rule denied the request.
    // Each leaves the key's expiry as it is (a refund only makes the state expire sooner) and
    // writes nothing to a key that has expired, so no key is ever left without an expiry.

    /// KEYS[1] = the window's counter. ARGV: limit, cost. Counts above the limit are increments
    /// of denied cost-1 requests (see `RedisStore`), so the allowed units are `min(count, limit)`.
    static let fixedWindowRefund = RedisScript(
        """
        local count = (redis.call('GET', KEYS[1]) or -1) + 0
        if count < 0 then return 0 end
        local target = math.max(0, math.min(count, ARGV[1] + 0) - ARGV[2])
        if count > target then redis.call('DECRBY', KEYS[1], count - target) end
        return 1
        """)

    /// KEYS[1] = the older runs, KEYS[2] = the summary (see ``slidingWindow``). ARGV: when the
    /// units were counted, cost. Units counted in the same millisecond share a run, so the refund
    /// shrinks that run, or removes it: an emptied newest run gives its place to the previous
    /// one. Both keys keep their expiries.
    static let slidingWindowRefund = RedisScript(
        slidingWindowSummary + """
            local live, oldestAt, newestAt, newestUnits = summary()
            local at, cost, taken = ARGV[1] + 0, ARGV[2] + 0, 0
            if newestAt == nil or cost < 1 then return 0 end
            if at == newestAt then
              taken = math.min(newestUnits, cost)
              newestUnits = newestUnits - taken
              if newestUnits == 0 then
                local previous = redis.call('ZRANGE', KEYS[1], -1, -1, 'WITHSCORES')
                if previous[1] == nil then
                  redis.call('DEL', KEYS[1], KEYS[2])
                  return taken
                end
                redis.call('ZREM', KEYS[1], previous[1])
                newestAt, newestUnits = previous[2] + 0, units(previous[1])
              end
            else
              local runs = redis.call('ZRANGEBYSCORE', KEYS[1], at, at)
              if #runs == 0 then return 0 end
              local had = units(runs[1])
              taken = math.min(had, cost)
              if had > taken then redis.call('ZADD', KEYS[1], at, run(at, had - taken)) end
              redis.call('ZREM', KEYS[1], runs[1])
            end
            saveSummary(live - taken, oldestAt, newestAt, newestUnits)
            return taken
            """)

    /// KEYS[1] = the bucket. ARGV: window ms, burst, cost, when the tokens were taken. Only while
    /// that take is the bucket's last change, as `TokenBucket.refund` explains.
    static let tokenBucketRefund = RedisScript(
        tokenBucketState + """
            local level, at = bucket()
            if level == nil or at ~= ARGV[4] + 0 then return 0 end
            local window = ARGV[1] + 0
            level = math.min(ARGV[2] * window, level + ARGV[3] * window)
            redis.call('SET', KEYS[1], string.format('%d:%d', level, at), 'KEEPTTL')
            return 1
            """)
}
