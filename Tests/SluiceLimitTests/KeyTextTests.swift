import Testing

@testable import SluiceLimit

@Suite struct KeyTextTests {
    @Test func joinsPartsAndANumber() {
        #expect(KeyText.join("sluice", ":", "api:{203.0.113.7}") == "sluice:api:{203.0.113.7}")
        #expect(KeyText.join("a", "", "", "") == "a")
        #expect(KeyText.join("sluice", ":", "api:{é}", ":fw:", number: 29_666) == "sluice:api:{é}:fw:29666")
        #expect(KeyText.join("k", ":", number: 0) == "k:0")
        #expect(KeyText.join("k", ":", number: -42) == "k:-42")
        #expect(KeyText.join("k", ":", number: .min) == "k:\(Int64.min)")
        #expect(KeyText.join("k", ":", number: .max) == "k:\(Int64.max)")
        let long = String(repeating: "x", count: 300)
        #expect(KeyText.join(long, ":", long, ":tb") == long + ":" + long + ":tb")
    }
}
