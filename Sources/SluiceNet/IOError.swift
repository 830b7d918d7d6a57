#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// A failed system call: which call, with which `errno`, and on what.
///
/// ```swift
/// let error = IOError(errno: ECONNREFUSED, function: "connect", context: "127.0.0.1:6379")
/// print(error)  // connect(127.0.0.1:6379) failed: Connection refused (errno 111)
/// ```
public struct IOError: Error, Sendable, Hashable, CustomStringConvertible {
    /// The `errno` value the call left.
    public var errno: Int32
    /// The name of the system call, e.g. `"connect"`.
    public var function: String
    /// What the call acted on (an address, a host name), empty when nothing useful.
    public var context: String

    /// Creates an error for `function` failing with `errno`.
    public init(errno: Int32, function: String, context: String = "") {
        self.errno = errno
        self.function = function
        self.context = context
    }

    /// A one-line message: the call, its context, the system's text for `errno` and the number.
    public var description: String {
        let reason = String(cString: strerror(errno))
        let subject = context.isEmpty ? function : "\(function)(\(context))"
        return "\(subject) failed: \(reason) (errno \(errno))"
    }
}

/// The outcome of a non-blocking call: it did something, or it would have blocked.
public enum IOResult<Value: Sendable>: Sendable {
    /// The call completed with `Value`.
    case processed(Value)
    /// The call returned `EAGAIN`/`EWOULDBLOCK` (or `EINPROGRESS` for connect): try again when ready.
    case wouldBlock
}
