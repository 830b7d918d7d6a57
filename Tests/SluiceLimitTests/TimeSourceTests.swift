import SluiceLimit
import Testing

@Suite struct TimeSourceTests {
    @Test func manualTimeMovesOnlyWhenTold() {
        let time = ManualTimeSource(milliseconds: 1_000)
        #expect(time.nowMilliseconds() == 1_000)
        time.advance(by: .milliseconds(1_500))
        #expect(time.nowMilliseconds() == 2_500)
        time.advance(by: .microseconds(999))
        #expect(time.nowMilliseconds() == 2_500)
        time.advance(by: .seconds(-2))
        #expect(time.nowMilliseconds() == 500)
        time.set(milliseconds: 42)
        #expect(time.nowMilliseconds() == 42)
    }

    @Test func systemTimeIsWallClockMilliseconds() {
        let now = SystemTimeSource().nowMilliseconds()
        #expect(now > 1_700_000_000_000)  // After November 2023.
        #expect(now < 4_102_444_800_000)  // Before 2100.
    }
}
