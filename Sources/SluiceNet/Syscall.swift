import CSluiceLinux

#if canImport(Glibc)
    import Glibc
#endif

/// Every system call Sluice makes, wrapped once: `EINTR` is retried, `EAGAIN` becomes
/// ``IOResult/wouldBlock``, and any other failure throws an ``IOError`` naming the call.
enum Syscall {
    /// Runs `body` until it stops failing with `EINTR`; throws on any other failure.
    @inline(__always)
    static func retrying<T: BinaryInteger>(
        _ function: @autoclosure () -> String, _ body: () -> T
    ) throws(IOError) -> T {
        while true {
            let result = body()
            if result >= 0 { return result }
            let code = errno
            if code == EINTR { continue }
            throw IOError(errno: code, function: function())
        }
    }

    /// Like ``retrying(_:_:)`` but reports `EAGAIN`/`EWOULDBLOCK` as ``IOResult/wouldBlock``.
    @inline(__always)
    static func nonBlocking<T: BinaryInteger & Sendable>(
        _ function: @autoclosure () -> String, _ body: () -> T
    ) throws(IOError) -> IOResult<T> {
        while true {
            let result = body()
            if result >= 0 { return .processed(result) }
            let code = errno
            if code == EINTR { continue }
            if code == EAGAIN || code == EWOULDBLOCK { return .wouldBlock }
            throw IOError(errno: code, function: function())
        }
    }

    static func socket(domain: Int32, type: Int32) throws(IOError) -> Int32 {
        try retrying("socket") { Glibc.socket(domain, type | Int32(SOCK_NONBLOCK.rawValue | SOCK_CLOEXEC.rawValue), 0) }
    }

    static func close(_ fd: Int32) {
        // close() must not be retried on EINTR on Linux: the descriptor is already released.
        _ = Glibc.close(fd)
    }

    static func setOption<T: BitwiseCopyable>(
        _ fd: Int32, level: Int32, name: Int32, value: T, _ label: String
    ) throws(IOError) {
        _ = try withUnsafeBytes(of: value) { (raw) throws(IOError) in
            try retrying("setsockopt(\(label))") {
                setsockopt(fd, level, name, raw.baseAddress, socklen_t(raw.count))
            }
        }
    }

    static func getIntOption(_ fd: Int32, level: Int32, name: Int32, _ label: String) throws(IOError) -> Int32 {
        var value: Int32 = 0
        var length = socklen_t(MemoryLayout<Int32>.size)
        _ = try retrying("getsockopt(\(label))") { getsockopt(fd, level, name, &value, &length) }
        return value
    }

    static func read(_ fd: Int32, into buffer: UnsafeMutableRawBufferPointer) throws(IOError) -> IOResult<Int> {
        try nonBlocking("read") { Glibc.read(fd, buffer.baseAddress, buffer.count) }
    }

    static func write(_ fd: Int32, from buffer: UnsafeRawBufferPointer) throws(IOError) -> IOResult<Int> {
        // send() with MSG_NOSIGNAL: a peer that went away must not raise SIGPIPE in the process.
        try nonBlocking("write") { Glibc.send(fd, buffer.baseAddress, buffer.count, Int32(MSG_NOSIGNAL)) }
    }

    static func epollCreate() throws(IOError) -> Int32 {
        try retrying("epoll_create1") { epoll_create1(Int32(EPOLL_CLOEXEC)) }
    }

    static func epollControl(
        _ epfd: Int32, _ operation: Int32, _ fd: Int32, events: UInt32
    ) throws(IOError) {
        var event = epoll_event()
        event.events = events
        event.data.fd = fd
        _ = try retrying("epoll_ctl") { epoll_ctl(epfd, operation, fd, &event) }
    }

    static func epollWait(
        _ epfd: Int32, _ events: UnsafeMutablePointer<epoll_event>, capacity: Int32, timeoutMilliseconds: Int32
    ) throws(IOError) -> Int32 {
        let result = epoll_wait(epfd, events, capacity, timeoutMilliseconds)
        if result >= 0 { return result }
        let code = errno
        if code == EINTR { return 0 }  // a signal woke us: the caller's loop looks again
        throw IOError(errno: code, function: "epoll_wait")
    }

    static func eventFD() throws(IOError) -> Int32 {
        try retrying("eventfd") { eventfd(0, Int32(EFD_NONBLOCK | EFD_CLOEXEC)) }
    }
}
