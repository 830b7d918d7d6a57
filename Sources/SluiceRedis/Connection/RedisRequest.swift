import SluiceNet

/// A command on its way through a ``RedisNode``: what to send, until when, and who waits.
struct RedisRequest {
    /// Where a ``RedisRouter`` has sent a command so far, so that it can send it again.
    struct Routing {
        /// `MOVED` and `ASK` redirects followed.
        var redirects = 0
        /// Sends again after a refusal (`TRYAGAIN`, `LOADING`, `READONLY`, …).
        var retries = 0
        /// Set by `ASK`: this one attempt goes there, with `ASKING`.
        var askTarget: HostAndPort?
    }

    var arguments: [RESPArgument]
    /// The script behind an `EVALSHA`, so that a `NOSCRIPT` reply can load it and retry.
    var script: RedisScript?
    /// Set once the script was reloaded after `NOSCRIPT`; a second `NOSCRIPT` is final.
    var reloadedScript = false
    /// A ``SluiceNet/MonotonicClock`` reading.
    var deadline: UInt64
    /// Gets the reply, or — for a routed command — the failure its router gave up on.
    var handler: RedisReplyHandler
    /// Set for a command a router sent: the node hands its failures to ``RedisNode/onRoutedFailure``
    /// rather than to `handler`, so the router can follow redirects and retry without wrapping
    /// every command's handler in a closure of its own.
    var routing: Routing?

    /// Preceded by `ASKING`: a cluster node that is importing the key's slot should run it.
    var asking: Bool { routing?.askTarget != nil }
}
