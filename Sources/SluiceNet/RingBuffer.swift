/// A first-in, first-out queue with O(1) append and removal at the front.
///
/// ```swift
/// var queue = RingBuffer<Int>()
/// queue.append(1)
/// queue.append(2)
/// print(queue.popFirst()!, queue.count)  // 1 1
/// ```
public struct RingBuffer<Element> {
    private var storage: [Element?] = Array(repeating: nil, count: 16)
    private var head = 0
    /// The number of elements queued.
    public private(set) var count = 0

    /// An empty queue.
    public init() {}

    /// True when nothing is queued.
    public var isEmpty: Bool { count == 0 }

    /// The element that ``popFirst()`` would return, without removing it.
    public var first: Element? { count == 0 ? nil : storage[head] }

    /// Adds `element` at the back.
    public mutating func append(_ element: Element) {
        if count == storage.count { grow() }
        storage[(head + count) & (storage.count - 1)] = element
        count += 1
    }

    /// Removes and returns the front element, or nil when empty.
    public mutating func popFirst() -> Element? {
        guard count > 0 else { return nil }
        let element = storage[head]
        storage[head] = nil
        head = (head + 1) & (storage.count - 1)
        count -= 1
        return element
    }

    /// Removes every element and returns them in order.
    public mutating func removeAll() -> [Element] {
        var all: [Element] = []
        all.reserveCapacity(count)
        while let element = popFirst() { all.append(element) }
        return all
    }

    private mutating func grow() {
        var larger: [Element?] = Array(repeating: nil, count: storage.count * 2)
        for index in 0..<count { larger[index] = storage[(head + index) & (storage.count - 1)] }
        storage = larger
        head = 0
    }
}

extension RingBuffer: Sendable where Element: Sendable {}
