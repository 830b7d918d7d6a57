import SluiceNet
import Testing

@Suite struct RingBufferTests {
    @Test func keepsOrderAcrossGrowthAndWraparound() {
        var queue = RingBuffer<Int>()
        var expected: [Int] = []
        var next = 0
        for round in 0..<50 {
            for _ in 0..<(round % 7 + 3) {
                queue.append(next)
                expected.append(next)
                next += 1
            }
            for _ in 0..<(round % 5) {
                #expect(queue.popFirst() == expected.removeFirst())
            }
        }
        #expect(queue.count == expected.count)
        #expect(queue.first == expected.first)
        #expect(queue.removeAll() == expected)
        #expect(queue.isEmpty)
        #expect(queue.popFirst() == nil)
    }
}
