/// A hash table from key bytes to ``MemoryEntry``, keyed by a hash the caller has already computed, so a lookup
/// hashes nothing, allocates nothing and touches no reference count.
///
/// Laid out for the cache, since at millions of checks a second a miss costs more than all the arithmetic: a slot
/// is one 64-byte cache line holding the hash, the entry and (up to ``inlineKeyBytes``) the key itself, so a check
/// on a short key reads one line of slots. Slots are found by open addressing with linear probing, at most 3/4
/// full; a separate array of one control byte per slot (zero when empty, else 7 bits of the hash) keeps the probe
/// off slot lines that cannot match, and is small enough to stay cached. Longer keys live in a byte arena, the slot
/// holding their offset.
///
/// Entries are only removed all at once, by ``keepOnly(where:sizedFor:)``, which moves the survivors into a new
/// table: there are no tombstones, and the arena holds no dead keys.
///
/// Noncopyable because it owns its memory: raw buffers rather than arrays, so that the hot path pays for no
/// uniqueness check, bounds check or retain.
struct MemoryTable: ~Copyable {
    /// A key of at most ``inlineKeyBytes`` bytes, zero-padded; for a longer key, `.0` is its offset in the arena.
    typealias InlineKey = (UInt64, UInt64, UInt64)

    /// One key and its entry: 64 bytes (``MemoryEntry`` leaves 24 bytes of key after the hash and the count).
    struct Slot {
        let hash: UInt64
        var entry: MemoryEntry
        let keyCount: UInt32
        let key: InlineKey
    }

    /// The longest key stored in its slot rather than in the arena.
    static let inlineKeyBytes = MemoryLayout<InlineKey>.size
    private static let minimumCapacity = 16
    private static let minimumArenaCapacity = 256
    private static let slotAlignment = 64
    /// The control byte of a slot whose entry ``keepOnly(where:sizedFor:)`` has just dropped: neither empty nor a tag.
    private static let droppedControl: UInt8 = 1

    /// Where a slot's key starts; a property, since `offset(of:)` is computed at run time.
    private let inlineKeyOffset = MemoryLayout<Slot>.offset(of: \Slot.key)!
    /// Keys stored.
    private(set) var count = 0
    /// Slots, a power of two; zero before the first insertion and after everything was dropped.
    private var capacity = 0
    /// One byte per slot: 0 for an empty slot, else ``tag(of:)`` of the slot's hash.
    private var controls: UnsafeMutablePointer<UInt8>?
    /// `capacity` slots, initialized where the control byte is not zero.
    private var slots: UnsafeMutablePointer<Slot>?
    private var arena: UnsafeMutablePointer<UInt8>?
    private var arenaCount = 0
    private var arenaCapacity = 0

    /// Creates an empty table; it allocates nothing until the first insertion.
    init() {}

    deinit {
        forEachOccupiedSlot { slot in (slots! + slot).deinitialize(count: 1) }
        controls?.deallocate()
        slots?.deallocate()
        arena?.deallocate()
    }

    /// The bytes the table has allocated: its slots, their control bytes and its key arena, at their capacity.
    var allocatedBytes: Int {
        capacity * (MemoryLayout<Slot>.stride + 1) + arenaCapacity
    }

    /// Heap bytes owned by the entries' states.
    var entryHeapBytes: Int {
        var total = 0
        forEachOccupiedSlot { slot in total += slots![slot].entry.state.heapBytes }
        return total
    }

    /// The slot holding `key`, whose hash is `hash`; nil when the key is not stored.
    func find(hash: UInt64, key: UnsafeRawBufferPointer) -> Int? {
        guard let controls, let slots else { return nil }
        let tag = Self.tag(of: hash)
        let mask = capacity &- 1
        var slot = Int(truncatingIfNeeded: hash) & mask
        while true {
            let control = controls[slot]
            if control == tag && slots[slot].hash == hash && Int(slots[slot].keyCount) == key.count {
                let stored =
                    key.count <= Self.inlineKeyBytes
                    ? UnsafeRawPointer(slots + slot) + inlineKeyOffset
                    : UnsafeRawPointer(arena! + Int(slots[slot].key.0))
                if Self.bytesEqual(stored, key) {
                    return slot
                }
            }
            if control == 0 {
                return nil
            }
            slot = (slot &+ 1) & mask
        }
    }

    /// Stores `entry` for `key`, which must not be stored yet; returns its slot.
    mutating func insert(hash: UInt64, key: UnsafeRawBufferPointer, entry: MemoryEntry) -> Int {
        precondition(key.count <= Int(UInt32.max), "a rate-limit key is at most 4 GiB, got \(key.count) bytes")
        if (count + 1) * 4 > capacity * 3 {
            rehash(capacity: max(Self.minimumCapacity, capacity * 2))
        }
        let storedKey: InlineKey
        if key.count <= Self.inlineKeyBytes {
            storedKey = Self.inlineKey(key)
        } else {
            if arenaCount + key.count > arenaCapacity {
                resizeArena(to: Self.arenaCapacity(for: arenaCount + key.count))
            }
            (arena! + arenaCount).initialize(
                from: key.assumingMemoryBound(to: UInt8.self).baseAddress!, count: key.count)
            storedKey = (UInt64(arenaCount), 0, 0)
            arenaCount += key.count
        }
        let slot = emptySlot(for: hash)
        controls![slot] = Self.tag(of: hash)
        (slots! + slot).initialize(to: Slot(hash: hash, entry: entry, keyCount: UInt32(key.count), key: storedKey))
        count += 1
        return slot
    }

    /// The entry in `slot`, updated in place.
    mutating func updateEntry<Result>(inSlot slot: Int, _ update: (inout MemoryEntry) -> Result) -> Result {
        update(&slots![slot].entry)
    }

    /// Calls `body` with every occupied slot and when its entry expires, in milliseconds since the epoch.
    func forEachExpiry(_ body: (_ slot: Int, _ expiresAt: Int64) -> Void) {
        forEachOccupiedSlot { slot in body(slot, slots![slot].entry.expiresAt) }
    }

    /// Keeps only the entries that `isKept` accepts, given each occupied slot and when its entry expires (called
    /// once per slot, in slot order). Then, if it dropped any or the table is larger than `expectedCount` keys and
    /// the survivors need, moves the survivors into a table of that size, freeing everything if it is zero.
    ///
    /// - Returns: Whether any entry was dropped.
    @discardableResult
    mutating func keepOnly(
        where isKept: (_ slot: Int, _ expiresAt: Int64) -> Bool,
        sizedFor expectedCount: Int
    ) -> Bool {
        let countBefore = count
        for slot in 0..<capacity where controls![slot] & 0x80 != 0 {
            if !isKept(slot, slots![slot].entry.expiresAt) {
                (slots! + slot).deinitialize(count: 1)
                controls![slot] = Self.droppedControl
                count -= 1
            }
        }
        let sizedCount = max(count, expectedCount)
        var fitting = sizedCount == 0 ? 0 : Self.minimumCapacity
        while sizedCount * 4 > fitting * 3 {
            fitting *= 2
        }
        if count < countBefore || fitting < capacity {
            rehash(capacity: fitting)
        }
        return count < countBefore
    }

    /// The control byte of an occupied slot with hash `hash`: bits 32 to 38 of the hash (independent of the low
    /// bits that choose the slot and of the high bits that chose the shard), with the top bit set.
    @inline(__always)
    private static func tag(of hash: UInt64) -> UInt8 {
        UInt8(truncatingIfNeeded: hash >> 32) | 0x80
    }

    /// `key`, of at most ``inlineKeyBytes`` bytes, as a slot stores it.
    @inline(__always)
    private static func inlineKey(_ key: UnsafeRawBufferPointer) -> InlineKey {
        var words: InlineKey = (0, 0, 0)
        withUnsafeMutableBytes(of: &words) { $0.copyMemory(from: key) }
        return words
    }

    /// Whether the `key.count` bytes at `stored` equal `key`: eight bytes at a time, the last word overlapping the
    /// one before it when the count is not a multiple of eight.
    @inline(__always)
    private static func bytesEqual(_ stored: UnsafeRawPointer, _ key: UnsafeRawBufferPointer) -> Bool {
        let count = key.count
        guard let other = key.baseAddress else { return true }
        if count < 8 {
            return (0..<count).allSatisfy { stored.load(fromByteOffset: $0, as: UInt8.self) == key[$0] }
        }
        var offset = 0
        while offset &+ 8 < count {
            if stored.loadUnaligned(fromByteOffset: offset, as: UInt64.self)
                != other.loadUnaligned(fromByteOffset: offset, as: UInt64.self)
            {
                return false
            }
            offset &+= 8
        }
        return stored.loadUnaligned(fromByteOffset: count &- 8, as: UInt64.self)
            == other.loadUnaligned(fromByteOffset: count &- 8, as: UInt64.self)
    }

    /// The arena capacity for `byteCount` bytes: the next power of two, at least ``minimumArenaCapacity``.
    private static func arenaCapacity(for byteCount: Int) -> Int {
        var capacity = minimumArenaCapacity
        while capacity < byteCount {
            capacity *= 2
        }
        return capacity
    }

    private func forEachOccupiedSlot(_ body: (Int) -> Void) {
        for slot in 0..<capacity where controls![slot] & 0x80 != 0 {
            body(slot)
        }
    }

    /// The first empty slot on the probe sequence of `hash`.
    private func emptySlot(for hash: UInt64) -> Int {
        let mask = capacity - 1
        var slot = Int(truncatingIfNeeded: hash) & mask
        while controls![slot] != 0 {
            slot = (slot + 1) & mask
        }
        return slot
    }

    /// Moves every entry into a table of `newCapacity` slots (a power of two, or zero when the table is empty) and
    /// its long keys into an arena of just the size they need.
    private mutating func rehash(capacity newCapacity: Int) {
        precondition(count * 4 <= newCapacity * 3, "rehashing \(count) keys into \(newCapacity) slots")
        let oldControls = controls
        let oldSlots = slots
        let oldArena = arena
        let oldCapacity = capacity
        capacity = newCapacity
        controls = nil
        slots = nil
        if newCapacity > 0 {
            controls = .allocate(capacity: newCapacity)
            controls!.initialize(repeating: 0, count: newCapacity)
            slots = UnsafeMutableRawPointer.allocate(
                byteCount: newCapacity * MemoryLayout<Slot>.stride,
                alignment: Self.slotAlignment
            ).bindMemory(to: Slot.self, capacity: newCapacity)
        }
        var longKeyBytes = 0
        for slot in 0..<oldCapacity
        where oldControls![slot] & 0x80 != 0 && Int(oldSlots![slot].keyCount) > Self.inlineKeyBytes {
            longKeyBytes += Int(oldSlots![slot].keyCount)
        }
        arena = longKeyBytes == 0 ? nil : .allocate(capacity: Self.arenaCapacity(for: longKeyBytes))
        arenaCapacity = longKeyBytes == 0 ? 0 : Self.arenaCapacity(for: longKeyBytes)
        arenaCount = 0
        for oldSlot in 0..<oldCapacity where oldControls![oldSlot] & 0x80 != 0 {
            var moved = (oldSlots! + oldSlot).move()
            if Int(moved.keyCount) > Self.inlineKeyBytes {
                (arena! + arenaCount).initialize(from: oldArena! + Int(moved.key.0), count: Int(moved.keyCount))
                moved = Slot(
                    hash: moved.hash, entry: moved.entry, keyCount: moved.keyCount, key: (UInt64(arenaCount), 0, 0))
                arenaCount += Int(moved.keyCount)
            }
            let slot = emptySlot(for: moved.hash)
            controls![slot] = Self.tag(of: moved.hash)
            (slots! + slot).initialize(to: moved)
        }
        oldControls?.deallocate()
        oldSlots?.deallocate()
        oldArena?.deallocate()
    }

    /// Moves the arena to an allocation of `newCapacity` bytes; offsets stay valid.
    private mutating func resizeArena(to newCapacity: Int) {
        let resized = UnsafeMutablePointer<UInt8>.allocate(capacity: newCapacity)
        if let arena {
            resized.moveInitialize(from: arena, count: arenaCount)
            arena.deallocate()
        }
        arena = resized
        arenaCapacity = newCapacity
    }
}
