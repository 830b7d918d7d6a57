import Testing

@testable import SluiceLimit

/// The memory store's hash table, below the store: collisions forced with hand-picked hashes.
@Suite struct MemoryStoreTableTests {
    private let policy = try! RateLimitPolicy(algorithm: .fixedWindow, limit: 10, window: .seconds(60))

    private func entry() -> MemoryEntry {
        MemoryEntry(policy: policy, now: 0)
    }

    @Test func aSlotIsOneCacheLine() {
        #expect(MemoryLayout<MemoryTable.Slot>.stride == 64)
        #expect(MemoryTable.inlineKeyBytes == 24)
    }

    @Test func keysWithTheSameHashAreToldApartByTheirBytes() {
        var table = MemoryTable()
        let keys = ["a", "b", "same-length-key-1", "same-length-key-2", String(repeating: "long", count: 10)]
        var slots: [Int] = []
        for key in keys {
            let slot = key.utf8.withContiguousStorageIfAvailable { bytes in
                let key = UnsafeRawBufferPointer(bytes)
                #expect(table.find(hash: 42, key: key) == nil)
                return table.insert(hash: 42, key: key, entry: entry())
            }
            slots.append(slot!)
        }
        for (key, slot) in zip(keys, slots) {
            let found = key.utf8.withContiguousStorageIfAvailable {
                table.find(hash: 42, key: UnsafeRawBufferPointer($0))
            }
            #expect(found == slot, "\(key)")
            // Same bytes under another hash (as from another store's hasher) are another key.
            let other = key.utf8.withContiguousStorageIfAvailable {
                table.find(hash: 43, key: UnsafeRawBufferPointer($0))
            }
            #expect(other == .some(nil), "\(key)")
        }
        #expect(Set(slots).count == keys.count)
    }

    @Test func keepOnlyMovesTheSurvivorsWithTheirKeysAndStates() {
        var table = MemoryTable()
        let keys = (0..<200).map { index in
            index.isMultiple(of: 2) ? "k\(index)" : "a-key-longer-than-a-slot-holds-\(index)"
        }
        func hash(_ index: Int) -> UInt64 { UInt64(index) &* 0x9E37_79B9_7F4A_7C15 }
        func find(_ index: Int) -> Int? {
            keys[index].utf8.withContiguousStorageIfAvailable { bytes in
                table.find(hash: hash(index), key: UnsafeRawBufferPointer(bytes))
            }!
        }
        for (index, key) in keys.enumerated() {
            let slot = key.utf8.withContiguousStorageIfAvailable { bytes in
                table.insert(hash: hash(index), key: UnsafeRawBufferPointer(bytes), entry: entry())
            }!
            // A state to recognise each key by: `index % 9 + 1` units counted.
            _ = table.updateEntry(inSlot: slot) { $0.check(cost: index % 9 + 1, now: 0, policy: policy) }
        }
        let keyOfSlot = Dictionary(uniqueKeysWithValues: keys.indices.map { (find($0)!, $0) })

        // Drop every key whose number is a multiple of 3, long or short.
        table.keepOnly(where: { slot, _ in !keyOfSlot[slot]!.isMultiple(of: 3) }, sizedFor: 0)
        #expect(table.count == keys.indices.count { !$0.isMultiple(of: 3) })
        for index in keys.indices {
            guard let slot = find(index) else {
                #expect(index.isMultiple(of: 3), "key \(index) was lost")
                continue
            }
            #expect(!index.isMultiple(of: 3), "key \(index) was kept")
            let remaining = table.updateEntry(inSlot: slot) { $0.check(cost: 1, now: 0, policy: policy) }
                .decision.remaining
            #expect(remaining == 10 - (index % 9 + 1) - 1, "key \(index)")
        }

        table.keepOnly(where: { _, _ in false }, sizedFor: 0)
        #expect(table.count == 0)
        #expect(table.allocatedBytes == 0)
    }
}
