/// A fast keyed hash of a key's UTF-8 bytes, with keys drawn at random for each ``MemoryStore``.
///
/// The construction is Go's runtime map hash on machines without AES instructions (itself after wyhash): 16-byte
/// chunks folded by a 64×64→128-bit multiply of the chunk XORed with secret words, high and low halves XORed.
/// A 20-byte key costs three multiplies, against SipHash's dozens of rounds behind `String.hashValue`.
///
/// The keys are random per store, so per process: an attacker who controls rate-limit keys (client addresses, API
/// keys) cannot compute a set of keys that collide in the store's tables without learning the secret words, which
/// nothing reveals. It is not a cryptographic PRF, so it only resists attackers who cannot observe hashes; that is
/// the threat a hash table faces.
struct MemoryKeyHasher: Sendable {
    private let seed: UInt64
    private let secret0: UInt64
    private let secret1: UInt64
    private let secret2: UInt64

    /// A hasher with fresh random keys.
    init() {
        var random = SystemRandomNumberGenerator()
        self.init(seed: random.next(), secrets: (random.next(), random.next(), random.next()))
    }

    /// A hasher with the given keys; odd secret words, so no multiply by one of them loses its low bits.
    init(seed: UInt64, secrets: (UInt64, UInt64, UInt64)) {
        self.seed = seed
        secret0 = secrets.0 | 1
        secret1 = secrets.1 | 1
        secret2 = secrets.2 | 1
    }

    /// The hash of `bytes`.
    func hash(_ bytes: UnsafeRawBufferPointer) -> UInt64 {
        let count = bytes.count
        var state = seed ^ secret0
        var low: UInt64
        var high: UInt64
        if count <= 16 {
            if count >= 8 {
                low = bytes.loadUnaligned(as: UInt64.self)
                high = bytes.loadUnaligned(fromByteOffset: count - 8, as: UInt64.self)
            } else if count >= 4 {
                low = UInt64(bytes.loadUnaligned(as: UInt32.self))
                high = UInt64(bytes.loadUnaligned(fromByteOffset: count - 4, as: UInt32.self))
            } else if count > 0 {
                low = UInt64(bytes[0]) | UInt64(bytes[count >> 1]) << 8 | UInt64(bytes[count - 1]) << 16
                high = 0
            } else {
                low = 0
                high = 0
            }
        } else {
            var offset = 0
            while count - offset > 16 {
                let first = bytes.loadUnaligned(fromByteOffset: offset, as: UInt64.self)
                let second = bytes.loadUnaligned(fromByteOffset: offset + 8, as: UInt64.self)
                state = Self.mix(first ^ secret1, second ^ state)
                offset += 16
            }
            // The last 16 bytes, overlapping chunks already mixed when the count is not a multiple of 16.
            low = bytes.loadUnaligned(fromByteOffset: count - 16, as: UInt64.self)
            high = bytes.loadUnaligned(fromByteOffset: count - 8, as: UInt64.self)
        }
        return Self.mix(secret2 ^ UInt64(count), Self.mix(low ^ secret1, high ^ state))
    }

    /// The high and low halves of the 128-bit product, XORed.
    @inline(__always)
    private static func mix(_ first: UInt64, _ second: UInt64) -> UInt64 {
        let product = first.multipliedFullWidth(by: second)
        return product.high ^ product.low
    }
}
