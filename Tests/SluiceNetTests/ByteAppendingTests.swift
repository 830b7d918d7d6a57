import SluiceNet
import Testing

@Suite struct ByteAppendingTests {
    @Test(arguments: [0, 7, 9, 10, 99, 1_024, -1, -12, Int64.max, Int64.min])
    func decimalsAreSpelledAsDescriptionSpellsThem(_ value: Int64) {
        var bytes: [UInt8] = Array("x".utf8)
        bytes.appendDecimal(value)
        #expect(String(decoding: bytes, as: UTF8.self) == "x\(value)")
    }

    @Test(arguments: ["", "OK", "Content-Type", "a string longer than fifteen bytes", "é ü 🙂"])
    func stringsKeepEveryUTF8Byte(_ text: String) {
        var bytes: [UInt8] = [0]
        bytes.appendUTF8(text)
        #expect(bytes == [0] + Array(text.utf8))
    }
}
