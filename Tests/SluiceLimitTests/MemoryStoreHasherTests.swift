import Testing

@testable import SluiceLimit

@Suite struct MemoryStoreHasherTests {
    private func hash(_ key: String, with hasher: MemoryKeyHasher) -> UInt64 {
        key.utf8.withContiguousStorageIfAvailable { hasher.hash(UnsafeRawBufferPointer($0)) }!
    }

    @Test func aHasherIsDeterministicAndEveryStoreDrawsItsOwnKeys() {
        let first = MemoryKeyHasher()
        let second = MemoryKeyHasher()
        let keys = ["", "a", "api:{203.0.113.7}", String(repeating: "x", count: 100)]
        for key in keys {
            #expect(hash(key, with: first) == hash(key, with: first))
        }
        // A fixed hash would let clients pick colliding keys; with random keys, the same key hashes differently.
        #expect(keys.filter { hash($0, with: first) != hash($0, with: second) }.count == keys.count)
    }

    @Test func everyByteAndTheLengthChangeTheHash() {
        let hasher = MemoryKeyHasher(
            seed: 0x0123_4567_89AB_CDEF, secrets: (0x5851_F42D_4C95_7F2D, 0x1405_7B7E_F767_814F, 0x2545_F491_4F6C_DD1D))
        for length in 0...70 {
            let bytes = [UInt8](repeating: 0x61, count: length)
            let base = bytes.withUnsafeBytes { hasher.hash($0) }
            // Zero-filled keys of different lengths must differ too, so the length is mixed in.
            let longer = (bytes + [0]).withUnsafeBytes { hasher.hash($0) }
            #expect(base != longer, "length \(length)")
            for position in 0..<length {
                var changed = bytes
                changed[position] ^= 0x01
                #expect(changed.withUnsafeBytes { hasher.hash($0) } != base, "length \(length), byte \(position)")
            }
        }
    }

    @Test func similarKeysSpreadEvenlyOverShards() {
        let hasher = MemoryKeyHasher()
        var counts = [Int](repeating: 0, count: 64)
        let keyCount = 64_000
        for index in 0..<keyCount {
            let shard = Int(hash("bench:{client-\(index)}", with: hasher).multipliedFullWidth(by: 64).high)
            counts[shard] += 1
        }
        // 1,000 expected per shard; a standard deviation is about 31.
        #expect(counts.allSatisfy { (800...1_200).contains($0) }, "\(counts)")
    }
}
