/// Read buffers for one event loop's connections, lent while a connection has bytes to parse and
/// taken back when it falls idle, so that thousands of idle keep-alive connections hold no
/// buffer. Loop-confined: used only on its loop's thread.
final class InputBufferPool {
    /// Bytes in each buffer: the most a connection reads ahead of the parser.
    let bufferSize: Int
    private let maxPooled: Int
    /// Unchecked exclusivity: loop-confined, and no access spans a call (the checks cost two
    /// per request).
    @exclusivity(unchecked) private var free: [[UInt8]] = []

    init(bufferSize: Int, maxPooled: Int = 256) {
        self.bufferSize = bufferSize
        self.maxPooled = maxPooled
    }

    /// A buffer of `bufferSize` bytes, reused when one is free.
    func take() -> [UInt8] {
        free.popLast() ?? [UInt8](repeating: 0, count: bufferSize)
    }

    /// Takes `buffer` back (keeping at most `maxPooled`) and leaves it empty.
    func give(_ buffer: inout [UInt8]) {
        guard !buffer.isEmpty else { return }
        if free.count < maxPooled { free.append(buffer) }
        buffer = []
    }
}
