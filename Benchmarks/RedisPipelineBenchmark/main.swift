// Pipelined command throughput of one RedisClient connection with many concurrent callers.
//
//   swift run -c release RedisPipelineBenchmark --url redis://127.0.0.1:6379 --callers 50 --commands 2000000
//
// Two kinds of caller are measured:
// - "loop": callers on the client's event loop, each sending its next INCR from the previous
//   reply's callback — the way the Sluice server issues commands;
// - "async": Swift tasks awaiting `client.send`, the library API.
import Foundation
import SluiceNet
import SluiceRedis
import Synchronization

struct Options {
    var url = "redis://127.0.0.1:6379"
    var callers = 50
    var commands = 2_000_000
    var modes = ["loop", "async"]

    init(_ arguments: [String]) {
        var iterator = arguments.makeIterator()
        while let flag = iterator.next() {
            let value = iterator.next() ?? ""
            switch flag {
            case "--url": url = value
            case "--callers": callers = Int(value) ?? callers
            case "--commands": commands = Int(value) ?? commands
            case "--mode": modes = [value]
            default: fatalError("unknown flag \(flag); flags: --url --callers --commands --mode loop|async")
            }
        }
    }
}

/// Callers on the router's loop, each sending its next INCR from the previous reply's callback.
/// A class with unchecked counters, so that the harness costs little beside the client it measures.
final class LoopCallers: @unchecked Sendable {
    private let router: RedisRouter
    private let commands: Int
    private let done = DispatchSemaphore(value: 0)
    @exclusivity(unchecked) private var issued = 0
    @exclusivity(unchecked) private var completed = 0
    @exclusivity(unchecked) private var failures = 0

    init(router: RedisRouter, commands: Int) {
        self.router = router
        self.commands = commands
    }

    /// Starts `callers` chains and waits until `commands` replies have arrived; returns replies per second.
    func run(callers: Int) -> Double {
        let started = MonotonicClock.now()
        router.loop.execute { [self] in
            for _ in 0..<callers { next() }
        }
        done.wait()
        if failures > 0 { print("loop: \(failures) commands failed") }
        return Double(commands) / (Double(MonotonicClock.now() - started) / 1e9)
    }

    private func next() {
        guard issued < commands else { return }
        issued += 1
        router.send(["INCR", "bench:loop"]) { [self] result in
            if case .failure = result { failures += 1 }
            completed += 1
            if completed == commands {
                done.signal()
            } else {
                next()
            }
        }
    }
}

/// Runs `callers` tasks, each awaiting its INCR before sending the next.
func measureAsync(_ client: RedisClient, callers: Int, commands: Int) async -> Double {
    let started = MonotonicClock.now()
    let perCaller = commands / callers
    let failures = await withTaskGroup(of: Int.self) { group in
        for _ in 0..<callers {
            group.addTask {
                var failures = 0
                for _ in 0..<perCaller {
                    do { try await client.send("INCR", "bench:async") } catch { failures += 1 }
                }
                return failures
            }
        }
        return await group.reduce(0, +)
    }
    if failures > 0 { print("async: \(failures) commands failed") }
    return Double(perCaller * callers) / (Double(MonotonicClock.now() - started) / 1e9)
}

let options = Options(Array(CommandLine.arguments.dropFirst()))
let group = try EventLoopGroup(count: 1, name: "bench")  // one loop, so one connection
let client = try RedisClient(configuration: try RedisConfiguration(url: options.url), group: group)
_ = try await client.send("PING")
for mode in options.modes {
    let rate =
        mode == "loop"
        ? LoopCallers(router: client.router(on: group.loops[0]), commands: options.commands).run(
            callers: options.callers)
        : await measureAsync(client, callers: options.callers, commands: options.commands)
    print(
        "sluice \(mode): \(Int(rate)) ops/s (INCR, 1 connection, \(options.callers) callers, \(options.commands) commands)"
    )
}
client.shutdown()
group.shutdown()
