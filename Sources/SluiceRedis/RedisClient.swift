import SluiceNet
import Synchronization

/// A Redis client for one server, for code that is not on an event loop.
///
/// It runs its own event loop thread (or uses the loops you give it) with one
/// auto-pipelined connection per loop: commands from many concurrent tasks leave together
/// in one `write` and their replies are matched in order.
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
    private let nodes: [RedisNode]
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
        self.nodes = self.group.loops.map { RedisNode(configuration: configuration, loop: $0) }
    }

    /// A client for a `redis://` URL.
    public convenience init(url: String) throws {
        try self.init(configuration: RedisConfiguration(url: url))
    }

    /// The node that serves `loop`, for code running on that loop.
    public func node(on loop: EventLoop) -> RedisNode {
        nodes.first { $0.loop === loop } ?? nodes[0]
    }

    /// Runs `body` on one of the client's loops (round-robin) with that loop's node: for work
    /// that chains several commands without leaving the loop.
    public func withNode(_ body: @escaping @Sendable (RedisNode) -> Void) {
        let node = nextNode()
        node.loop.execute { body(node) }
    }

    /// Sends a command and waits for its reply. An error reply throws ``RedisError/Code/server``.
    @discardableResult
    public func send(_ arguments: RESPArgument...) async throws(RedisError) -> RESPValue {
        try await send(arguments)
    }

    /// Sends a command given as an array and waits for its reply.
    @discardableResult
    public func send(_ arguments: [RESPArgument], timeout: Duration? = nil) async throws(RedisError) -> RESPValue {
        let node = nextNode()
        return try await Self.await { completion in
            node.loop.execute { node.send(arguments, timeout: timeout, handler: completion) }
        }
    }

    /// Runs a Lua script with `EVALSHA`, loading it when the server lacks it.
    @discardableResult
    public func evalScript(
        _ script: RedisScript, keys: [RESPArgument], arguments: [RESPArgument], timeout: Duration? = nil
    ) async throws(RedisError) -> RESPValue {
        let node = nextNode()
        return try await Self.await { completion in
            node.loop.execute {
                node.evalScript(script, keys: keys, arguments: arguments, timeout: timeout, handler: completion)
            }
        }
    }

    /// Closes the connections; waiting commands fail with ``RedisError/Code/shutdown``.
    /// Stops the client's own event loop when it started one.
    public func shutdown() {
        for node in nodes { node.loop.execute { node.shutdown() } }
        if ownsGroup { group.shutdown() }
    }

    private func nextNode() -> RedisNode {
        nodes.count == 1 ? nodes[0] : nodes[cursor.wrappingAdd(1, ordering: .relaxed).oldValue % nodes.count]
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
