// Latency at a fixed offered rate (open loop): requests go out on a schedule whatever the server
// does, and each one's latency runs from when it was due, not from when it was sent, so a server
// that stalls is charged for every request the stall held back (no coordinated omission). wrk
// cannot do that: it sends the next request only after the last answer.
//
//   .build/release/LatencyProbe --url http://127.0.0.1:8080/ --rate 50000 --seconds 5 [--connections 64]
//
// One thread: a 50 µs timerfd tick sends what has fallen due on idle keep-alive connections (a
// request due while all are busy waits for the next free one, its clock running). Prints one JSON
// object: offered and achieved rate, p50/p90/p99/p99.9/max in milliseconds, non-2xx answers, and
// requests without an answer 2 s after the last was due (never sent, lost with a connection, or
// late; left out of the percentiles), the probe's own longest stall (its longest time between two
// wakeups, against a 0.05 ms tick: the machine, not the server, when it is as long as the tail),
// and serverP50/P99/P999: the server's share, from the probe's first wakeup after a request was
// due (waiting for a free connection still counts) to the kernel's receive timestamp of the
// answer, which leaves out the probe's own lateness in waking, sending and reading.
import CSluiceLinux
import Foundation
import SluiceNet

#if canImport(Glibc)
    import Glibc
#endif

struct Options {
    var host = "127.0.0.1"
    var port: UInt16 = 8080
    var path = "/"
    var rate = 10_000.0
    var seconds = 5.0
    var connections = 64

    static let usage = "usage: LatencyProbe --url http://HOST:PORT/PATH --rate N --seconds S [--connections N]"

    init(_ arguments: [String]) {
        var iterator = arguments.makeIterator()
        while let flag = iterator.next() {
            if flag == "--help" {
                print(Self.usage)
                exit(0)
            }
            guard let value = iterator.next() else { Self.fail("\(flag) needs a value") }
            switch flag {
            case "--url": (host, port, path) = Options.parse(url: value)
            case "--rate": rate = Self.number(value, of: flag)
            case "--seconds": seconds = Self.number(value, of: flag)
            case "--connections": connections = Int(Self.number(value, of: flag))
            default: Self.fail("unknown flag \(flag)")
            }
        }
        guard rate > 0 && seconds > 0 && connections > 0 else {
            Self.fail("rate, seconds and connections must be positive")
        }
        guard rate * seconds >= 1 else { Self.fail("rate × seconds must offer at least one request") }
    }

    /// `http://HOST:PORT/PATH` with a numeric IPv4 host: the probe talks to loopback only.
    static func parse(url: String) -> (String, UInt16, String) {
        guard url.hasPrefix("http://") else { fail("--url must start with http://, got \(url)") }
        let rest = url.dropFirst("http://".count)
        let authority = rest.prefix { $0 != "/" }
        let path = rest.dropFirst(authority.count)
        let parts = authority.split(separator: ":")
        guard parts.count == 2, let port = UInt16(parts[1]) else { fail("--url needs HOST:PORT, got \(url)") }
        return (String(parts[0]), port, path.isEmpty ? "/" : String(path))
    }

    private static func number(_ text: String, of flag: String) -> Double {
        guard let value = Double(text), value.isFinite else { fail("\(flag) needs a number, got \(text)") }
        return value
    }

    /// Says what is wrong and how to call the probe, and exits with status 2.
    static func fail(_ message: String) -> Never {
        FileHandle.standardError.write(Data("LatencyProbe: \(message)\n\(usage)\n".utf8))
        exit(2)
    }
}

/// Says why the probe cannot go on (the server, not the command line), and exits with status 1.
func giveUp(_ message: String) -> Never {
    FileHandle.standardError.write(Data("LatencyProbe: \(message)\n".utf8))
    exit(1)
}

/// One keep-alive connection: at most one request in flight, the bytes of its answer so far.
struct Connection {
    var fd: Int32
    /// When the request in flight was due; nil when the connection is idle.
    var due: UInt64?
    /// Where the server's share of its latency starts: the probe's first wakeup at or after the request was due.
    /// Waiting from then for a free connection is the server's doing; a probe late to wake is not.
    var serverStart: UInt64 = 0
    var received: [UInt8] = []
}

/// The status and total length of the first complete answer in `bytes` (headers plus a
/// `Content-Length` body), or nil while it is incomplete. Reads bytes, not strings: the probe must
/// cost far less than the servers it measures. An answer framed otherwise (chunked, or ended by
/// closing) stops the probe: read as bodyless, its body would be taken for the next answer.
func completeAnswer(in bytes: [UInt8]) -> (status: Int, length: Int)? {
    let name = Array("content-length:".utf8)
    let (cr, lf, space): (UInt8, UInt8, UInt8) = (13, 10, 32)
    guard bytes.count >= 16 else { return nil }
    let status = (Int(bytes[9]) - 48) * 100 + (Int(bytes[10]) - 48) * 10 + Int(bytes[11]) - 48
    var bodyLength: Int?
    var lineStart = 0
    while let lineEnd = bytes[lineStart...].firstIndex(of: lf) {
        if lineEnd == lineStart + 1 && bytes[lineStart] == cr {
            guard let bodyLength else {
                giveUp("an answer without Content-Length: the probe times only Content-Length answers")
            }
            let length = lineEnd + 1 + bodyLength
            return bytes.count >= length ? (status, length) : nil
        }
        if lineEnd - lineStart > name.count
            && zip(bytes[lineStart...], name).allSatisfy({ $0 | 0x20 == $1 })
        {
            var digit = lineStart + name.count
            var value = 0
            while bytes[digit] == space { digit += 1 }
            while bytes[digit] >= 48 && bytes[digit] <= 57 {
                value = value * 10 + Int(bytes[digit]) - 48
                digit += 1
            }
            bodyLength = value
        }
        lineStart = lineEnd + 1
    }
    return nil
}

/// `SO_TIMESTAMPNS` (and `SCM_TIMESTAMPNS`) with a 64-bit `time_t`, as on x86-64 and arm64 Linux: its C macro is
/// an expression Swift does not import.
let soTimestampNS: Int32 = 35

/// `CLOCK_REALTIME` in nanoseconds: the clock of the kernel's receive timestamps.
func realtimeNanoseconds() -> UInt64 {
    var time = timespec()
    clock_gettime(CLOCK_REALTIME, &time)
    return UInt64(time.tv_sec) * 1_000_000_000 + UInt64(time.tv_nsec)
}

func connect(host: String, port: UInt16) -> Int32 {
    let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
    var address = sockaddr_in()
    address.sin_family = sa_family_t(AF_INET)
    address.sin_port = port.bigEndian
    guard inet_pton(AF_INET, host, &address.sin_addr) == 1 else {
        Options.fail("--url needs an IPv4 address, got \(host)")
    }
    let connected = withUnsafePointer(to: &address) {
        $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
            Glibc.connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
        }
    }
    guard connected == 0 else { giveUp("cannot connect to \(host):\(port): errno \(errno)") }
    var one: Int32 = 1
    setsockopt(fd, Int32(IPPROTO_TCP), TCP_NODELAY, &one, socklen_t(MemoryLayout<Int32>.size))
    // Each read then carries the time the kernel received its bytes: on loopback, about when the server sent them.
    setsockopt(fd, SOL_SOCKET, soTimestampNS, &one, socklen_t(MemoryLayout<Int32>.size))
    _ = fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK)
    return fd
}

/// The open-loop run: connections, the schedule, and the latencies recorded so far.
final class Probe {
    let options: Options
    let request: [UInt8]
    let epoll = epoll_create1(0)
    let tick = timerfd_create(CLOCK_MONOTONIC, Int32(TFD_NONBLOCK))
    let tickTag = UInt64.max
    var connections: [Connection] = []
    var idle: [Int] = []
    /// Microseconds from due to answered, one per answer.
    var latencies: [UInt32] = []
    /// Microseconds from each answer's ``Connection/serverStart`` to when the kernel received its last bytes: the
    /// server's share, without the probe's own lateness in sending or reading.
    var serverLatencies: [UInt32] = []
    /// `CLOCK_REALTIME` minus ``MonotonicClock``, to read the kernel's receive timestamps on the probe's clock.
    let realtimeOffset = Int64(bitPattern: realtimeNanoseconds() &- MonotonicClock.now())
    /// Wakeups that found requests newly due: requests before `through` not seen due at an earlier one were first
    /// seen at `wake`. Oldest first; those of requests all sent are dropped from the front.
    var firstSeen: [(through: Int, wake: UInt64)] = []
    var firstSeenStart = 0
    var control = [UInt8](repeating: 0, count: 64)
    var non2xx = 0
    var lastAnswer: UInt64 = 0
    var buffer = [UInt8](repeating: 0, count: 16_384)

    init(options: Options) {
        self.options = options
        request = Array("GET \(options.path) HTTP/1.1\r\nHost: \(options.host)\r\n\r\n".utf8)
        for index in 0..<options.connections {
            connections.append(Connection(fd: connect(host: options.host, port: options.port)))
            watch(connections[index].fd, tag: UInt64(index))
        }
        idle = Array(connections.indices.reversed())
        let fiftyMicroseconds = timespec(tv_sec: 0, tv_nsec: 50_000)
        var period = itimerspec(it_interval: fiftyMicroseconds, it_value: fiftyMicroseconds)
        timerfd_settime(tick, 0, &period, nil)
        watch(tick, tag: tickTag)
    }

    func watch(_ fd: Int32, tag: UInt64) {
        var event = epoll_event(events: EPOLLIN.rawValue, data: epoll_data_t(u64: tag))
        epoll_ctl(epoll, EPOLL_CTL_ADD, fd, &event)
    }

    /// Sends on schedule for `options.seconds`, then waits up to 2 s for the last answers.
    func run() -> [String: Double] {
        let total = Int(options.rate * options.seconds)
        let interval = 1e9 / options.rate
        latencies.reserveCapacity(total)
        serverLatencies.reserveCapacity(total)
        var events = [epoll_event](repeating: epoll_event(), count: 256)
        var sent = 0
        /// Requests due by the latest wakeup.
        var seenDue = 0
        let started = MonotonicClock.now()
        func dueTime(_ request: Int) -> UInt64 { started + UInt64(Double(request) * interval) }
        let deadline = started + UInt64(options.seconds * 1e9) + 2_000_000_000
        lastAnswer = started
        var previousWake = started
        var longestGap: UInt64 = 0
        while latencies.count < total && MonotonicClock.now() < deadline {
            let ready = epoll_wait(epoll, &events, Int32(events.count), 100)
            let now = MonotonicClock.now()
            longestGap = max(longestGap, now - previousWake)
            previousWake = now
            for event in events.prefix(Int(max(0, ready))) {
                if event.data.u64 == tickTag {
                    var expirations: UInt64 = 0
                    _ = Glibc.read(tick, &expirations, 8)
                } else {
                    receive(on: Int(event.data.u64), now: now)
                }
            }
            let seenBefore = seenDue
            while seenDue < total && dueTime(seenDue) <= now { seenDue += 1 }
            if seenDue > seenBefore { firstSeen.append((seenDue, now)) }
            while sent < seenDue, let index = idle.last {
                let due = dueTime(sent)
                idle.removeLast()
                while firstSeen[firstSeenStart].through <= sent { firstSeenStart += 1 }
                send(on: index, due: due, firstSeen: firstSeen[firstSeenStart].wake)
                sent += 1
            }
        }
        latencies.sort()
        serverLatencies.sort()
        let elapsed = Double(lastAnswer - started) / 1e9
        return [
            "offered": options.rate, "achieved": Double(latencies.count) / max(elapsed, 1e-9),
            "requests": Double(latencies.count), "p50": percentile(0.50), "p90": percentile(0.90),
            "p99": percentile(0.99), "p999": percentile(0.999), "max": percentile(1.0),
            "serverP50": percentile(0.50, of: serverLatencies), "serverP99": percentile(0.99, of: serverLatencies),
            "serverP999": percentile(0.999, of: serverLatencies),
            "non2xx": Double(non2xx), "unanswered": Double(total - latencies.count),
            "probeStall": Double(longestGap) / 1e6,
        ]
    }

    /// Sends the request due at `due`, first seen due at `firstSeen`, on connection `index`.
    func send(on index: Int, due: UInt64, firstSeen: UInt64) {
        connections[index].due = due
        connections[index].serverStart = firstSeen
        // A request this small fits an empty socket buffer; one that fails is never answered and counted unanswered.
        _ = request.withUnsafeBytes { bytes in
            Glibc.send(connections[index].fd, bytes.baseAddress, bytes.count, Int32(MSG_NOSIGNAL))
        }
    }

    /// Reads what connection `index` has; records each complete answer.
    func receive(on index: Int, now: UInt64) {
        let (count, kernelReceived) = read(from: connections[index].fd)
        guard count > 0 else {
            if count == 0 || (errno != EAGAIN && errno != EINTR) {
                // The server closed it: its request in flight stays unanswered; another takes its place,
                // idle (an index already idle is in `idle` once).
                let wasBusy = connections[index].due != nil
                epoll_ctl(epoll, EPOLL_CTL_DEL, connections[index].fd, nil)
                close(connections[index].fd)
                connections[index] = Connection(fd: connect(host: options.host, port: options.port))
                watch(connections[index].fd, tag: UInt64(index))
                if wasBusy { idle.append(index) }
            }
            return
        }
        connections[index].received.append(contentsOf: buffer[0..<count])
        while let answer = completeAnswer(in: connections[index].received), let due = connections[index].due {
            connections[index].received.removeFirst(answer.length)
            connections[index].due = nil
            latencies.append(microseconds(from: due, to: now))
            serverLatencies.append(microseconds(from: connections[index].serverStart, to: kernelReceived ?? now))
            if !(200..<300).contains(answer.status) { non2xx += 1 }
            idle.append(index)
            lastAnswer = now
        }
    }

    /// Reads what `fd` has into `buffer`: the byte count (as `read` returns it), and when the kernel received the
    /// last of them on the probe's clock (nil without a timestamp).
    func read(from fd: Int32) -> (Int, UInt64?) {
        var message = msghdr()
        let count = buffer.withUnsafeMutableBytes { bytes in
            control.withUnsafeMutableBytes { control in
                var vector = iovec(iov_base: bytes.baseAddress, iov_len: bytes.count)
                return withUnsafeMutablePointer(to: &vector) { vector in
                    message.msg_iov = vector
                    message.msg_iovlen = 1
                    message.msg_control = control.baseAddress
                    message.msg_controllen = control.count
                    return recvmsg(fd, &message, 0)
                }
            }
        }
        // One control message is asked for: a cmsghdr (length, level, type) then a timespec, 8-byte aligned.
        let header = MemoryLayout<cmsghdr>.size
        guard count > 0, message.msg_controllen >= header + MemoryLayout<timespec>.size else { return (count, nil) }
        return control.withUnsafeBytes { control in
            let cmsg = control.loadUnaligned(as: cmsghdr.self)
            guard cmsg.cmsg_level == SOL_SOCKET && cmsg.cmsg_type == soTimestampNS else { return (count, nil) }
            let time = control.loadUnaligned(fromByteOffset: header, as: timespec.self)
            let realtime = Int64(time.tv_sec) * 1_000_000_000 + Int64(time.tv_nsec)
            return (count, UInt64(max(0, realtime - realtimeOffset)))
        }
    }

    /// The latency below which `fraction` of the answers came, in milliseconds; `samples` sorted.
    func percentile(_ fraction: Double, of samples: [UInt32]? = nil) -> Double {
        let samples = samples ?? latencies
        guard !samples.isEmpty else { giveUp("no request was answered: is the server at \(options.port) up?") }
        let rank = Int((Double(samples.count) * fraction).rounded(.up)) - 1
        return Double(samples[min(samples.count - 1, max(0, rank))]) / 1_000
    }
}

/// Whole microseconds from `start` to `end` (0 if `end` came first), capped to fit.
func microseconds(from start: UInt64, to end: UInt64) -> UInt32 {
    UInt32(min(UInt64(UInt32.max), (end - min(end, start)) / 1_000))
}

let result = Probe(options: Options(Array(CommandLine.arguments.dropFirst()))).run()
let json = try JSONSerialization.data(withJSONObject: result, options: [.sortedKeys])
print(String(decoding: json, as: UTF8.self))
