/// Which of the 16,384 Redis Cluster hash slots a key lives in: CRC16 (XMODEM) of the key,
/// or of its hash tag — the part between the first `{` and the next `}` when that part is not empty.
///
/// ```swift
/// ClusterSlot.of("foo")                  // 12182
/// ClusterSlot.of("sluice:api:{1.2.3.4}") // the slot of "1.2.3.4"
/// ```
public enum ClusterSlot {
    /// How many slots a cluster has.
    public static let count = 16_384

    /// The slot of `key`.
    public static func of(_ key: String) -> Int {
        var key = key
        return key.withUTF8 { of(buffer: $0) }
    }

    /// The slot of a key given as bytes.
    public static func of(bytes key: [UInt8]) -> Int {
        key.withUnsafeBufferPointer { of(buffer: $0) }
    }

    private static func of(buffer key: UnsafeBufferPointer<UInt8>) -> Int {
        Int(crc16(key[hashTag(key)]) & UInt16(count - 1))
    }

    /// The range of `key` that is hashed: the tag between the first `{` and the following `}`,
    /// or the whole key when there is no such tag or it is empty.
    private static func hashTag(_ key: UnsafeBufferPointer<UInt8>) -> Range<Int> {
        guard let open = key.firstIndex(of: UInt8(ascii: "{")),
            let close = key[(open + 1)...].firstIndex(of: UInt8(ascii: "}")), close > open + 1
        else { return 0..<key.count }
        return (open + 1)..<close
    }

    /// CRC16-CCITT (XMODEM): polynomial 0x1021, initial value 0, as the cluster specification uses.
    private static func crc16(_ bytes: Slice<UnsafeBufferPointer<UInt8>>) -> UInt16 {
        var crc: UInt16 = 0
        for byte in bytes {
            crc = (crc << 8) ^ table[Int((crc >> 8) ^ UInt16(byte))]
        }
        return crc
    }

    private static let table: [UInt16] = (0..<256).map { index in
        var crc = UInt16(index) << 8
        for _ in 0..<8 { crc = crc & 0x8000 != 0 ? (crc << 1) ^ 0x1021 : crc << 1 }
        return crc
    }
}

extension ClusterSlot {
    /// Commands that name no key: they may run on any node.
    private static let keyless: Set<String> = [
        "PING", "ECHO", "INFO", "CLUSTER", "SCRIPT", "TIME", "HELLO", "AUTH", "SELECT", "CLIENT", "CONFIG",
        "DBSIZE", "FLUSHALL", "FLUSHDB", "COMMAND", "ROLE", "SENTINEL", "PUBLISH", "SUBSCRIBE", "ASKING",
        "READONLY", "READWRITE", "WAIT", "LASTSAVE", "MEMORY", "LATENCY", "SLOWLOG", "DEBUG", "FUNCTION",
    ]

    /// The slot of the first key of a command: the second word, or for `EVAL`/`EVALSHA`/`FCALL`
    /// the first key after the key count. Nil for commands that name no key.
    ///
    /// ```swift
    /// ClusterSlot.of(command: ["INCRBY", "hits", 1])  // ClusterSlot.of("hits")
    /// ```
    public static func of(command arguments: [RESPArgument]) -> Int? {
        guard arguments.count > 1, case .string(let name) = arguments[0] else { return nil }
        let word = name.uppercased()
        var keyIndex = 1
        if word.hasPrefix("EVAL") || word.hasPrefix("FCALL") {
            guard arguments.count > 3, case .integer(let keyCount) = arguments[2], keyCount > 0 else { return nil }
            keyIndex = 3
        } else if keyless.contains(word) {
            return nil
        }
        switch arguments[keyIndex] {
        case .string(let key): return of(key)
        case .bytes(let key): return of(bytes: key)
        case .integer(let key): return of(String(key))
        }
    }
}
