// Rate-limit decisions per second: the in-memory store on one thread and on every core, and
// the Redis store with many concurrent callers on one event loop (the server's way).
//
//   swift run -c release LimiterBenchmark memory [seconds] [algorithm|all] [keys]   (default 2 s, all, 10,000 keys)
//   swift run -c release LimiterBenchmark redis redis://127.0.0.1:6379 [callers] [decisions]
//   swift run -c release LimiterBenchmark simulate ALGORITHM CHECKS CHECKS-PER-MS   (fixed work, for callgrind)
//   swift run -c release LimiterBenchmark script sliding-window|token-bucket   (prints a script for redis-benchmark)
import Foundation
import SluiceLimit
import SluiceNet
import SluiceRedis
import Synchronization

let arguments = Array(CommandLine.arguments.dropFirst())
/// Distinct keys the checks cycle through: `memory`'s fourth argument, else 10,000. How many a core's cache holds
/// decides much of the in-memory rate; the sliding-window log touches two more cache lines a key than the others.
let keyCount = arguments.first == "memory" && arguments.count > 3 ? Int(arguments[3]) ?? 10_000 : 10_000
let keys = (0..<keyCount).map { RateLimitKey.make(rule: "bench", identity: "client-\($0)") }

/// How a memory-store check gets its key and its time.
enum CheckForm: CaseIterable {
    /// The key as UTF-8 bytes in the caller's buffer, the time read by the caller once per 1,000 checks (as the
    /// server reads it once per event-loop iteration): `check(policy:keyUTF8:cost:now:)`. The store's own cost.
    case bytesAndCallerTime
    /// The key as a `String`, the time read by the caller: `check(policy:key:cost:now:)`. Reading each string out of
    /// the harness's array retains and releases it (two atomic operations a check, the harness's not the store's).
    case stringAndCallerTime
    /// The key as a `String`, the store reading its time source on every check: `check(policy:key:cost:)`.
    case stringAndStoreClock
}

/// Every key's UTF-8 bytes in one array, and where each key lies in it.
func keysAsBytes() -> (bytes: [UInt8], ranges: [Range<Int>]) {
    let ranges = keys.reduce(into: [Range<Int>]()) { ranges, key in
        let start = ranges.last?.upperBound ?? 0
        ranges.append(start..<start + key.utf8.count)
    }
    return (keys.flatMap(\.utf8), ranges)
}

/// Checks in a tight loop on `threads` threads for `seconds`; returns decisions per second.
func measureMemory(policy: RateLimitPolicy, threads: Int, seconds: Double, form: CheckForm) -> Double {
    let store = MemoryStore()
    let clock = SystemTimeSource()
    let total = Atomic<Int>(0)
    let group = DispatchGroup()
    let deadline = MonotonicClock.now() + UInt64(seconds * 1e9)
    let started = MonotonicClock.now()
    for thread in 0..<threads {
        group.enter()
        Thread {
            // Each thread its own copy of the keys, as each request has its own: shared strings would
            // measure reference-count traffic between cores rather than the store.
            let strings = keys.map { String(decoding: Array($0.utf8), as: UTF8.self) }
            let (bytes, ranges) = keysAsBytes()
            var count = 0
            var index = (thread * 977) % strings.count
            strings.withUnsafeBufferPointer { strings in
                bytes.withUnsafeBytes { bytes in
                    while MonotonicClock.now() < deadline {
                        let now = clock.nowMilliseconds()
                        for _ in 0..<1_000 {
                            // A compare, not `%`: a 64-bit division costs as much here as a quarter of a check.
                            index += 7
                            if index >= strings.count { index -= strings.count }
                            switch form {
                            case .bytesAndCallerTime:
                                let key = UnsafeRawBufferPointer(rebasing: bytes[ranges[index]])
                                _ = store.check(policy: policy, keyUTF8: key, cost: 1, now: now)
                            case .stringAndCallerTime:
                                _ = store.check(policy: policy, key: strings[index], cost: 1, now: now)
                            case .stringAndStoreClock:
                                _ = store.check(policy: policy, key: strings[index], cost: 1)
                            }
                        }
                        count += 1_000
                    }
                }
            }
            total.add(count, ordering: .relaxed)
            group.leave()
        }.start()
    }
    group.wait()
    return Double(total.load(ordering: .relaxed)) / (Double(MonotonicClock.now() - started) / 1e9)
}

/// `checks` checks on one thread, the clock moving on one millisecond every `perMillisecond` checks: the same work
/// on every run, for counting instructions and cache misses (`Benchmarks/limiter-instructions.sh`), which the host's
/// noise does not move as it moves decisions per second. Returns what the store ended with.
func simulate(policy: RateLimitPolicy, checks: Int, perMillisecond: Int) -> String {
    let store = MemoryStore()
    let (bytes, ranges) = keysAsBytes()
    let start: Int64 = 1_800_000_000_000
    var allowed = 0
    var index = 0
    bytes.withUnsafeBytes { bytes in
        for count in 0..<checks {
            index += 7
            if index >= keys.count { index -= keys.count }
            let key = UnsafeRawBufferPointer(rebasing: bytes[ranges[index]])
            let now = start + Int64(count / perMillisecond)
            if store.check(policy: policy, keyUTF8: key, cost: 1, now: now).allowed { allowed += 1 }
        }
    }
    return "\(checks) checks of \(policy.algorithm.rawValue): \(allowed) allowed, \(store.keyCount) keys kept"
}

/// Runs `callers` callback chains on one loop until `decisions` decisions arrived.
func measureRedis(store: RedisStore, loop: EventLoop, policy: RateLimitPolicy, callers: Int, decisions: Int) -> Double {
    let done = DispatchSemaphore(value: 0)
    let started = MonotonicClock.now()
    loop.execute {
        var issued = 0
        var completed = 0
        var failures = 0
        func next() {
            guard issued < decisions else { return }
            let key = keys[issued % keys.count]
            issued += 1
            store.check(policy: policy, key: key, cost: 1, on: loop) { result in
                if case .failure = result { failures += 1 }
                completed += 1
                if completed == decisions {
                    if failures > 0 { print("  \(failures) checks failed") }
                    done.signal()
                } else {
                    next()
                }
            }
        }
        for _ in 0..<callers { next() }
    }
    done.wait()
    return Double(decisions) / (Double(MonotonicClock.now() - started) / 1e9)
}

func policy(_ algorithm: RateLimitAlgorithm) -> RateLimitPolicy {
    try! RateLimitPolicy(algorithm: algorithm, limit: 1_000_000, window: .seconds(60))
}

func format(_ rate: Double) -> String { String(format: "%12.0f decisions/s", rate) }

switch arguments.first {
case "memory":
    let seconds = Double(arguments.dropFirst().first ?? "2") ?? 2
    var algorithms = RateLimitAlgorithm.allCases
    if arguments.count > 2 && arguments[2] != "all" {
        guard let chosen = RateLimitAlgorithm(rawValue: arguments[2]) else {
            fatalError("unknown algorithm \(arguments[2]); one of: fixed-window, sliding-window, token-bucket")
        }
        algorithms = [chosen]
    }
    let cores = EventLoopGroup.activeProcessorCount
    print("memory store, \(keys.count) distinct keys, decisions/s:")
    print("  headline: key as UTF-8 bytes, time passed by the caller (read once per 1,000 checks, as the server")
    print("            reads it once per event-loop iteration): check(policy:keyUTF8:cost:now:)")
    print("  [key as a String, time passed: check(policy:key:cost:now:) | key as a String, the store reads its")
    print("   clock on every check: check(policy:key:cost:)]")
    for algorithm in algorithms {
        let rates = [1, cores].map { threads in
            CheckForm.allCases.map { form in
                measureMemory(policy: policy(algorithm), threads: threads, seconds: seconds, form: form)
            }
        }
        let columns = rates.map { String(format: "%10.0f [%9.0f | %9.0f]", $0[0], $0[1], $0[2]) }
        print("memory \(algorithm.rawValue):\t1 thread \(columns[0])\t\(cores) threads \(columns[1])")
    }
case "redis":
    let url = arguments.count > 1 ? arguments[1] : "redis://127.0.0.1:6379"
    let callers = arguments.count > 2 ? Int(arguments[2]) ?? 200 : 200
    let decisions = arguments.count > 3 ? Int(arguments[3]) ?? 500_000 : 500_000
    let group = try EventLoopGroup(count: 1, name: "bench")
    let client = try RedisClient(configuration: try RedisConfiguration(url: url), group: group)
    let store = RedisStore(client: client)
    for algorithm in RateLimitAlgorithm.allCases {
        let rate = measureRedis(
            store: store, loop: group.loops[0], policy: policy(algorithm), callers: callers, decisions: decisions)
        print("redis \(algorithm.rawValue):\t\(format(rate))  (1 connection, \(callers) callers)")
    }
    client.shutdown()
    group.shutdown()
case "simulate":
    guard arguments.count == 4, let algorithm = RateLimitAlgorithm(rawValue: arguments[1]),
        let checks = Int(arguments[2]), let perMillisecond = Int(arguments[3]), checks > 0, perMillisecond > 0
    else {
        fatalError("usage: LimiterBenchmark simulate ALGORITHM CHECKS CHECKS-PER-MS")
    }
    print("simulated \(simulate(policy: policy(algorithm), checks: checks, perMillisecond: perMillisecond))")
case "script":
    print(RedisLimitScripts.source(of: arguments.count > 1 ? arguments[1] : "token-bucket"))
default:
    print(
        "usage: LimiterBenchmark memory [seconds] [algorithm|all] [keys] | redis URL [callers] [decisions]"
            + " | simulate ALGORITHM CHECKS CHECKS-PER-MS | script ALGORITHM")
}
