/// Bytes waiting to go out on a non-blocking socket: appended at the back, written from the
/// front as far as the kernel takes them.
///
/// The written front is dropped once everything has gone out, or once it passes 64 KiB while a
/// stream keeps the buffer from ever draining, so a long stream never grows the buffer to its
/// own size.
///
/// ```swift
/// var output = OutputBuffer()
/// output.append(contentsOf: Array("PING\r\n".utf8))
/// let outcome = try output.write(to: socket)  // outcome.drained: everything left
/// ```
public struct OutputBuffer: Sendable {
    /// The queued bytes; those before `start` have been written.
    private var storage: [UInt8] = []
    private var start = 0

    /// An empty buffer.
    public init() {}

    /// Bytes not written yet.
    public var pendingCount: Int { storage.count - start }

    /// True when nothing waits to be written.
    public var isEmpty: Bool { start == storage.count }

    /// Queues `bytes`.
    public mutating func append<Bytes: Sequence<UInt8>>(contentsOf bytes: Bytes) {
        storage.append(contentsOf: bytes)
    }

    /// Lets `encode` append to the raw bytes (for encoders that write into an `inout [UInt8]`).
    public mutating func appendEncoded(_ encode: (inout [UInt8]) -> Void) {
        encode(&storage)
    }

    /// What one ``write(to:)`` did.
    public struct WriteOutcome: Sendable {
        /// Bytes the kernel took.
        public var written: Int
        /// True when nothing is left to write.
        public var drained: Bool
    }

    /// Writes as much as `socket` takes now.
    public mutating func write(to socket: Socket) throws(IOError) -> WriteOutcome {
        var written = 0
        while start < storage.count {
            let start = start
            let attempt = storage.withUnsafeBytes { bytes in
                Result { () throws(IOError) in try socket.write(UnsafeRawBufferPointer(rebasing: bytes[start...])) }
            }
            guard case .processed(let count) = try attempt.get() else { break }
            self.start += count
            written += count
        }
        if start == storage.count {
            storage.removeAll(keepingCapacity: storage.capacity <= 1 << 18)
            start = 0
            return WriteOutcome(written: written, drained: true)
        }
        if start >= 1 << 16 {
            storage.removeFirst(start)
            start = 0
        }
        return WriteOutcome(written: written, drained: false)
    }
}
