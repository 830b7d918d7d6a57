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

    @Test func digitsAreCountedAndWrittenRightAtEveryLength() {
        // Both sides of every power of ten, where the count changes, and the largest value.
        var values: [UInt64] = [0, 1, UInt64.max, UInt64.max - 1]
        var power: UInt64 = 10
        while true {
            values += [power - 1, power, power + 1, power + power / 2]
            let (next, overflow) = power.multipliedReportingOverflow(by: 10)
            if overflow { break }
            power = next
        }
        for value in values {
            #expect(DecimalDigits.count(value) == String(value).count, "\(value)")
            let written = [UInt8](unsafeUninitializedCapacity: 20) { buffer, count in
                count = DecimalDigits.write(value, into: buffer)
            }
            #expect(String(decoding: written, as: UTF8.self) == String(value))
        }
    }

    @Test(arguments: [0, 9, 10, -1, -9, -10, -1_024, Int64.max, Int64.min])
    func signedDecimalsAreCountedAndWrittenWithTheirSign(_ value: Int64) {
        #expect(DecimalDigits.count(signed: value) == String(value).count)
        let written = [UInt8](unsafeUninitializedCapacity: 20) { buffer, count in
            count = DecimalDigits.write(signed: value, into: buffer)
        }
        #expect(String(decoding: written, as: UTF8.self) == String(value))
    }

    @Test func literalsAndPartsAreCopiedWhole() {
        var bytes: [UInt8] = [0]
        bytes.append(literal: "Content-Length: ")
        #expect(bytes == [0] + Array("Content-Length: ".utf8))
        // Contiguous (a string's UTF-8, an array) and not (a lazy view), one after another.
        let written = [UInt8](unsafeUninitializedCapacity: 64) { buffer, count in
            count = buffer.initialize(at: 0, from: "a string longer than fifteen".utf8)
            count = buffer.initialize(at: count, from: Array("|é|".utf8))
            count = buffer.initialize(at: count, from: "xyz".utf8.lazy.map { $0 - 32 })
        }
        #expect(String(decoding: written, as: UTF8.self) == "a string longer than fifteen|é|XYZ")
    }
}
