import Synchronization

#if canImport(Glibc)
    import Glibc
#endif

/// A fixed set of event loops, one thread each, handed out round-robin.
///
/// ```swift
/// let group = try EventLoopGroup(count: 2, name: "io")
/// let loop = group.next()
/// loop.execute { print("on", loop.name) }
/// group.shutdown()
/// ```
public final class EventLoopGroup: Sendable {
    /// The loops, in start order.
    public let loops: [EventLoop]
    private let cursor = Atomic<Int>(0)

    /// Starts `count` loops (default: one per active CPU).
    public init(count: Int = EventLoopGroup.activeProcessorCount, name: String = "sluice-loop") throws(IOError) {
        precondition(count > 0, "an EventLoopGroup needs at least one loop")
        var loops: [EventLoop] = []
        for index in 0..<count {
            loops.append(try EventLoop.start(name: "\(name)-\(index)"))
        }
        self.loops = loops
    }

    /// The number of CPUs this process may run on.
    public static var activeProcessorCount: Int {
        max(1, Int(sysconf(Int32(_SC_NPROCESSORS_ONLN))))
    }

    /// The next loop, round-robin.
    public func next() -> EventLoop {
        loops[cursor.wrappingAdd(1, ordering: .relaxed).oldValue % loops.count]
    }

    /// Stops every loop and waits for their threads.
    public func shutdown() {
        for loop in loops { loop.shutdown() }
    }
}
