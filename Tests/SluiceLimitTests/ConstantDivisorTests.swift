import SluiceTestSupport
import Testing

@testable import SluiceLimit

@Suite struct ConstantDivisorTests {
    private static let divisors: [UInt64] = [
        1, 2, 3, 7, 10, 641, 1_000, 60_000, 86_400_000, 1_000_000_000, 31_622_400_000, (1 << 32) + 1,
        (1 << 63) - 1, 1 << 63, (1 << 63) + 1, .max,
    ]

    @Test(arguments: divisors)
    func dividesLikeTheDivInstruction(divisor: UInt64) {
        let byDivisor = ConstantDivisor(divisor)
        var random = SplitMix64(seed: divisor)
        var dividends: [UInt64] = [0, 1, divisor - 1, divisor, divisor &+ 1, .max, .max - 1, 1 << 53, (1 << 53) - 1]
        dividends += (0..<10_000).map { _ in random.next() >> UInt64.random(in: 0..<64, using: &random) }
        for dividend in dividends {
            #expect(byDivisor.divide(dividend) == dividend / divisor, "\(dividend) / \(divisor)")
        }
    }
}
