import CSluiceLinux
import Dispatch
import Foundation
import Synchronization

#if canImport(Glibc)
    import Glibc
#endif

/// Something that owns a file descriptor registered with an ``EventLoop`` and reacts to its readiness.
public protocol EventHandler: AnyObject {
    /// Called on the loop's thread with the `epoll` event bits (`EPOLLIN`, `EPOLLOUT`, `EPOLLERR`, …).
    func handleEvents(_ events: UInt32)
}

/// What readiness a registered descriptor waits for.
public struct Interest: OptionSet, Sendable {
    public let rawValue: UInt32
    public init(rawValue: UInt32) { self.rawValue = rawValue }
    /// Readable (or peer closed).
    public static let read = Interest(rawValue: EPOLLIN.rawValue | EPOLLRDHUP.rawValue)
    /// Writable.
    public static let write = Interest(rawValue: EPOLLOUT.rawValue)
}

/// Masks for the event bits a handler receives.
public enum Readiness {
    /// Data to read, or the peer closed, or an error: in each case a read tells which.
    public static let readable: UInt32 =
        EPOLLIN.rawValue | EPOLLRDHUP.rawValue | EPOLLERR.rawValue | EPOLLHUP.rawValue
    /// Room to write.
    public static let writable: UInt32 = EPOLLOUT.rawValue
    /// An error or a hang-up: reported even when nothing is registered for, so a handler that
    /// stopped reading must still act on it, or level-triggered epoll reports it forever.
    public static let failed: UInt32 = EPOLLERR.rawValue | EPOLLHUP.rawValue
}

/// One thread running an `epoll` set, its timers, and work handed to it by other threads.
///
/// Everything registered with a loop (handlers, timers, end-of-tick tasks) belongs to its
/// thread and needs no lock. Other threads talk to it only through ``execute(_:)``.
/// Work queued with ``afterTick(_:)`` runs once the loop has handled every event of the
/// current iteration — this is what turns many small writes into one (auto-pipelining).
///
/// ```swift
/// let loop = try EventLoop.start(name: "worker")
/// loop.execute {
///     _ = loop.schedule(after: .milliseconds(10)) { print("ten milliseconds later") }
/// }
/// loop.shutdown()
/// ```
public final class EventLoop: @unchecked Sendable {
    // `@exclusivity(unchecked)`: loop-confined state on every event's path, and no access to it
    // spans a call into other code, so no two accesses can overlap; Swift's run-time exclusivity
    // checks cost a tenth of a Redis command's CPU time.
    // Confinement: every `var` below is touched only on the loop's thread, except `inbox`
    // (behind a Mutex) and `threadID` (atomic).
    private let epollFD: Int32
    private let wakeFD: Int32
    private let inbox = Mutex<Inbox>(Inbox())
    private let threadID = Atomic<UInt>(0)
    private let stopped = DispatchSemaphore(value: 0)
    @exclusivity(unchecked) private var handlers: [EventHandler?] = []
    @exclusivity(unchecked) private var timers = TimerQueue()
    /// Tasks for the end of this iteration; the spare array is the one last run, kept for its
    /// storage. Each task sits in a struct, so storing it needs no reabstraction thunk (a closure
    /// put straight into an array is wrapped in one: an allocation per task).
    @exclusivity(unchecked) private var tickTasks: [TickTask] = []
    @exclusivity(unchecked) private var spareTickTasks: [TickTask] = []
    private var running = true
    /// The ``MonotonicClock`` reading taken when the current iteration woke up: cheap to read
    /// on the request path, and close enough for deadlines. Loop thread only.
    public var tickTime: UInt64 { currentTickTime }
    /// The wall clock (Unix milliseconds) read when the current iteration woke up: one clock read
    /// per iteration serves every rate-limit decision made in it. Loop thread only.
    public var tickWallClockMilliseconds: Int64 { currentTickWallClockMilliseconds }
    // Stored apart from the public getters above: `@exclusivity(unchecked)` holds only in this
    // module, and other modules reading a stored property directly made a checked access of it
    // (five per request).
    @exclusivity(unchecked) private var currentTickTime = MonotonicClock.now()
    @exclusivity(unchecked) private var currentTickWallClockMilliseconds = EventLoop.wallClockMilliseconds()
    /// The loop's name, used in thread names and logs.
    public let name: String

    private struct Inbox {
        var tasks: [@Sendable () -> Void] = []
        var wakeRequested = false
    }

    private init(name: String) throws(IOError) {
        self.name = name
        epollFD = try Syscall.epollCreate()
        do {
            wakeFD = try Syscall.eventFD()
            try Syscall.epollControl(epollFD, EPOLL_CTL_ADD, wakeFD, events: EPOLLIN.rawValue)
        } catch {
            Syscall.close(epollFD)
            throw error
        }
    }

    /// Starts a loop on a new thread.
    public static func start(name: String) throws(IOError) -> EventLoop {
        let loop = try EventLoop(name: name)
        let ready = DispatchSemaphore(value: 0)
        let thread = Thread {
            loop.threadID.store(UInt(pthread_self()), ordering: .releasing)
            ready.signal()
            loop.run()
        }
        thread.name = name
        thread.start()
        ready.wait()
        return loop
    }

    /// True when called on this loop's thread.
    public var inEventLoop: Bool {
        threadID.load(ordering: .acquiring) == UInt(pthread_self())
    }

    /// Runs `task` on the loop's thread, soon. Safe from any thread, including the loop's own.
    public func execute(_ task: @escaping @Sendable () -> Void) {
        let mustWake = inbox.withLock { inbox in
            inbox.tasks.append(task)
            defer { inbox.wakeRequested = true }
            return !inbox.wakeRequested
        }
        if mustWake {
            var one: UInt64 = 1
            _ = Glibc.write(wakeFD, &one, 8)
        }
    }

    /// Registers `fd` for `interest`; the loop calls `handler` on readiness. Loop thread only.
    public func register(_ fd: Int32, interest: Interest, handler: EventHandler) throws(IOError) {
        assertInEventLoop()
        try Syscall.epollControl(epollFD, EPOLL_CTL_ADD, fd, events: interest.rawValue)
        let index = Int(fd)
        if index >= handlers.count {
            handlers.append(contentsOf: repeatElement(nil, count: index + 1 - handlers.count))
        }
        handlers[index] = handler
    }

    /// Changes what a registered `fd` waits for. Loop thread only.
    public func reregister(_ fd: Int32, interest: Interest) throws(IOError) {
        assertInEventLoop()
        try Syscall.epollControl(epollFD, EPOLL_CTL_MOD, fd, events: interest.rawValue)
    }

    /// Forgets `fd` (call before closing it). Loop thread only.
    public func unregister(_ fd: Int32) {
        assertInEventLoop()
        _ = try? Syscall.epollControl(epollFD, EPOLL_CTL_DEL, fd, events: 0)
        if Int(fd) < handlers.count { handlers[Int(fd)] = nil }
    }

    /// Runs `callback` on the loop once `delay` has passed. Loop thread only.
    @discardableResult
    public func schedule(after delay: Duration, _ callback: @escaping () -> Void) -> TimerID {
        schedule(atNanoseconds: MonotonicClock.now() &+ delay.nanoseconds, callback)
    }

    /// Runs `callback` at a ``MonotonicClock`` reading. Loop thread only.
    @discardableResult
    public func schedule(atNanoseconds deadline: UInt64, _ callback: @escaping () -> Void) -> TimerID {
        assertInEventLoop()
        return timers.schedule(at: deadline, callback)
    }

    /// Cancels a timer that has not fired yet. Loop thread only.
    public func cancel(_ timer: TimerID) {
        assertInEventLoop()
        timers.cancel(timer)
    }

    /// Runs `task` after every event of the current iteration is handled. Loop thread only.
    public func afterTick(_ task: @escaping () -> Void) {
        assertInEventLoop()
        tickTasks.append(TickTask(run: task))
    }

    private struct TickTask {
        let run: () -> Void
    }

    /// Stops the loop after the tasks already queued, and waits for its thread to end.
    /// Registered descriptors are not closed: their owners close them.
    public func shutdown() {
        precondition(!inEventLoop, "EventLoop.shutdown() would wait for itself")
        execute { [self] in running = false }
        stopped.wait()
    }

    private static func wallClockMilliseconds() -> Int64 {
        var spec = timespec()
        clock_gettime(CLOCK_REALTIME, &spec)
        return Int64(spec.tv_sec) * 1000 + Int64(spec.tv_nsec) / 1_000_000
    }

    @inline(__always)
    private func assertInEventLoop() {
        assert(inEventLoop, "\(name): called off the event loop's thread")
    }

    private func run() {
        let capacity: Int32 = 256
        let events = UnsafeMutablePointer<epoll_event>.allocate(capacity: Int(capacity))
        defer {
            events.deallocate()
            Syscall.close(wakeFD)
            Syscall.close(epollFD)
            stopped.signal()
        }
        while running {
            let count: Int32
            do {
                count = try Syscall.epollWait(
                    epollFD, events, capacity: capacity, timeoutMilliseconds: waitTimeoutMilliseconds())
            } catch {
                fatalError("\(name): \(error)")  // EBADF/EINVAL here means the loop itself is broken
            }
            currentTickTime = MonotonicClock.now()
            currentTickWallClockMilliseconds = Self.wallClockMilliseconds()
            for index in 0..<Int(count) {
                let event = events[index]
                let fd = event.data.fd
                if fd == wakeFD {
                    runInbox()
                } else if Int(fd) < handlers.count, let handler = handlers[Int(fd)] {
                    handler.handleEvents(event.events)
                }
            }
            for callback in timers.popDue(now: tickTime) { callback() }
            runTickTasks()
        }
    }

    private func waitTimeoutMilliseconds() -> Int32 {
        if !tickTasks.isEmpty { return 0 }
        guard let deadline = timers.nextDeadline() else { return -1 }
        let now = MonotonicClock.now()
        guard deadline > now else { return 0 }
        return Int32(min((deadline - now + 999_999) / 1_000_000, 60_000))
    }

    private func runInbox() {
        var counter: UInt64 = 0
        _ = Glibc.read(wakeFD, &counter, 8)
        let tasks = inbox.withLock { inbox in
            inbox.wakeRequested = false
            let tasks = inbox.tasks
            inbox.tasks = []
            return tasks
        }
        for task in tasks { task() }
    }

    private func runTickTasks() {
        while !tickTasks.isEmpty {
            // Swapped with the spare, not copied: tasks queued while these run go to the other
            // array, and neither array's storage is shared, so none is allocated again.
            var tasks: [TickTask] = []
            swap(&tasks, &spareTickTasks)
            swap(&tasks, &tickTasks)
            for task in tasks { task.run() }
            tasks.removeAll(keepingCapacity: true)
            spareTickTasks = tasks
        }
    }
}
