/// A command on its way through a ``RedisNode``: what to send, until when, and who waits.
struct RedisRequest {
    var arguments: [RESPArgument]
    /// The script behind an `EVALSHA`, so that a `NOSCRIPT` reply can load it and retry.
    var script: RedisScript?
    /// Set once the script was reloaded after `NOSCRIPT`; a second `NOSCRIPT` is final.
    var reloadedScript = false
    /// Preceded by `ASKING`: a cluster node that is importing the key's slot should run it.
    var asking = false
    /// A ``SluiceNet/MonotonicClock`` reading.
    var deadline: UInt64
    var handler: RedisReplyHandler
}
