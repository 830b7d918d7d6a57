/// A first-in, first-out queue with O(1) append and removal at the front.
///
/// ```swift
/// var queue = RingBuffer<Int>()
/// queue.append(1)
/// queue.append(2)
/// print(queue.popFirst()!, queue.count)  // 1 1
/// ```
@frozen
public struct RingBuffer<Element> {
    @usableFromInline var storage: [Element?] = Array(repeating: nil, count: 16)
    @usableFromInline var head = 0
    /// The number of elements queued.
    public var count: Int { storedCount }
    @usableFromInline var storedCount = 0

    /// An empty queue.
    @inlinable public init() {}

    /// True when nothing is queued.
    @inlinable
    public var isEmpty: Bool { count == 0 }

    /// The element that ``popFirst()`` would return, without removing it.
    @inlinable
    public var first: Element? { count == 0 ? nil : storage[head] }

    /// Adds `element` at the back.
    @inlinable
    public mutating func append(_ element: Element) {
        if count == storage.count { grow() }
        storage[(head + count) & (storage.count - 1)] = element
        storedCount += 1
    }

    /// Removes and returns the front element, or nil when empty.
    @inlinable
    public mutating func popFirst() -> Element? {
        guard count > 0 else { return nil }
        let element = storage[head].take()  // moved out: no retain of it, no release of the slot's copy
        head = (head + 1) & (storage.count - 1)
        storedCount -= 1
        return element
    }

    /// Removes every element and returns them in order.
    @inlinable
    public mutating func removeAll() -> [Element] {
        var all: [Element] = []
        all.reserveCapacity(count)
        while let element = popFirst() { all.append(element) }
        return all
    }

    @usableFromInline
    mutating func grow() {
        var larger: [Element?] = Array(repeating: nil, count: storage.count * 2)
        for index in 0..<count { larger[index] = storage[(head + index) & (storage.count - 1)] }
        storage = larger
        head = 0
    }
}

extension RingBuffer: Sendable where Element: Sendable {}
