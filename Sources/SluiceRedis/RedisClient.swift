import SluiceNet
import Synchronization

/// A Redis client — one server, a cluster or a Sentinel-watched primary — for code that is
/// not on an event loop.
///
/// It runs its own event loop thread (or uses the loops you give it) with one
/// ``RedisRouter`` per loop: auto-pipelined connections, so commands from many concurrent
/// tasks leave together in one `write` and their replies are matched in order.
///
/// ```swift
/// let client = try RedisClient(url: "redis://127.0.0.1:6379")
/// let count = try await client.send("INCR", "visits").int
/// client.shutdown()
/// ```
public final class RedisClient: Sendable {
    /// Where and how it connects.
    public let configuration: RedisConfiguration
    private let group: EventLoopGroup
    private let ownsGroup: Bool
    private let routers: [RedisRouter]
    private let cursor = Atomic<Int>(0)

    /// A client for `configuration`; with no `group` it starts one event loop of its own.
    public init(configuration: RedisConfiguration, group: EventLoopGroup? = nil) throws(IOError) {
        self.configuration = configuration
        if let group {
            self.group = group
            self.ownsGroup = false
        } else {
            self.group = try EventLoopGroup(count: 1, name: "sluice-redis")
            self.ownsGroup = true
        }
        self.routers = self.group.loops.map { RedisRouter(configuration: configuration, loop: $0) }
    }

    /// A client for a `redis://`, `redis-cluster://` or `redis-sentinel://` URL.
    public convenience init(url: String) throws {
        try self.init(configuration: RedisConfiguration(url: url))
    }

    /// The event loops the client's routers run on, one router each.
    public var loops: [EventLoop] { routers.map(\.loop) }

    /// The router that serves `loop`, for code running on that loop.
    public func router(on loop: EventLoop) -> RedisRouter {
        routers.first { $0.loop === loop } ?? routers[0]
    }

    /// Runs `body` on one of the client's loops (round-robin) with that loop's router: for
    /// work that chains several commands without leaving the loop.
    public func withRouter(_ body: @escaping @Sendable (RedisRouter) -> Void) {
        let router = nextRouter()
        router.loop.execute { body(router) }
    }

    /// Sends a command and waits for its reply. An error reply throws ``RedisError/Code/server``.
    @discardableResult
    public func send(_ arguments: RESPArgument...) async throws(RedisError) -> RESPValue {
        try await send(arguments)
    }

    /// Sends a command given as an array and waits for its reply.
    @discardableResult
    public func send(_ arguments: [RESPArgument], timeout: Duration? = nil) async throws(RedisError) -> RESPValue {
        let router = nextRouter()
        return try await Self.await { completion in
            router.loop.execute { router.send(arguments, timeout: timeout, handler: completion) }
        }
    }

    /// Runs a Lua script with `EVALSHA`, loading it when the server lacks it.
    @discardableResult
    public func evalScript(
        _ script: RedisScript, keys: [RESPArgument], arguments: [RESPArgument], timeout: Duration? = nil
    ) async throws(RedisError) -> RESPValue {
        let router = nextRouter()
        return try await Self.await { completion in
            router.loop.execute {
                router.evalScript(script, keys: keys, arguments: arguments, timeout: timeout, handler: completion)
            }
        }
    }

    /// Closes the connections; waiting commands fail with ``RedisError/Code/shutdown``.
    /// Stops the client's own event loop when it started one.
    public func shutdown() {
        for router in routers { router.loop.execute { router.shutdown() } }
        if ownsGroup { group.shutdown() }
    }

    private func nextRouter() -> RedisRouter {
        routers.count == 1
            ? routers[0] : routers[cursor.wrappingAdd(1, ordering: .relaxed).oldValue % routers.count]
    }

    private static func await(
        _ start: (@escaping @Sendable (Result<RESPValue, RedisError>) -> Void) -> Void
    ) async throws(RedisError) -> RESPValue {
        let result = await withUnsafeContinuation { continuation in
            start { continuation.resume(returning: $0) }
        }
        return try result.get()
    }
}
