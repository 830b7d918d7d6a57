import SluiceNet
import SluiceRedis
import Testing

@Suite struct ClusterSlotTests {
    @Test func specificationVectors() {
        #expect(ClusterSlot.of("123456789") == 0x31C3)
        #expect(ClusterSlot.of("foo") == 12182)
        // Reference values computed outside Sluice (CRC16/XMODEM of the hashed part, mod 16384).
        #expect(ClusterSlot.of("foo{}{bar}") == 8363, "an empty first tag: the whole key is hashed")
        #expect(ClusterSlot.of("foo{{bar}}zap") == 4015, "the tag is \"{bar\"")
        #expect(ClusterSlot.of("foo{bar}{zap}") == 5061, "the tag is \"bar\"")
        #expect(ClusterSlot.of(bytes: Array("foo{bar}{zap}".utf8)) == 5061)
        #expect(ClusterSlot.of("sluice:api:{10.0.0.1}:tb") == ClusterSlot.of("10.0.0.1"))
        #expect(ClusterSlot.of("{}") == 15257, "an empty tag hashes the whole key")
    }

    @Test func commandsAreRoutedByTheirFirstKey() {
        #expect(ClusterSlot.of(command: ["INCRBY", "hits", 1]) == ClusterSlot.of("hits"))
        #expect(ClusterSlot.of(command: ["evalsha", "abc", 2, "k{x}", "k2{x}", 5]) == ClusterSlot.of("x"))
        #expect(ClusterSlot.of(command: ["EVALSHA", "abc", 0, "arg"]) == nil)
        #expect(ClusterSlot.of(command: ["CLUSTER", "SLOTS"]) == nil)
        #expect(ClusterSlot.of(command: ["PING"]) == nil)
    }
}

@Suite struct ClusterTopologyTests {
    private let asked = HostAndPort(host: "10.0.0.9", port: 7000)

    private func range(_ start: Int64, _ end: Int64, _ host: RESPValue, _ port: Int64, extra: [RESPValue] = [])
        -> RESPValue
    {
        .array([.integer(start), .integer(end), .array([host, .integer(port), .bulkString(Array("id".utf8))] + extra)])
    }

    @Test func readsRangesByPositionAndIgnoresExtraFields() throws {
        let reply: RESPValue = .array([
            range(0, 5460, .bulkString(Array("10.0.0.1".utf8)), 7000, extra: [.map([])]),
            range(5461, 10922, .bulkString(Array("10.0.0.2".utf8)), 7001),
            .array([
                .integer(10923), .integer(16383), .array([.bulkString(Array("10.0.0.3".utf8)), .integer(7002)]),
                .array([.bulkString(Array("10.0.0.4".utf8)), .integer(7003)]), .integer(99),
            ]),
        ])
        let topology = try ClusterTopology(slotsReply: reply, answeredBy: asked)
        #expect(topology.primaries.map(\.description) == ["10.0.0.1:7000", "10.0.0.2:7001", "10.0.0.3:7002"])
        #expect(topology.primary(forSlot: 0)?.port == 7000)
        #expect(topology.primary(forSlot: 5461)?.port == 7001)
        #expect(topology.primary(forSlot: 16383)?.port == 7002)
        #expect(topology.assignedSlotCount == 16384)
    }

    @Test func nullAndEmptyHostsMeanTheAskedNodeAndQuestionMarkIsUnknown() throws {
        let reply: RESPValue = .array([
            range(0, 99, .null, 7100),
            range(100, 199, .bulkString([]), 7200),
            range(200, 299, .bulkString(Array("?".utf8)), 7300),
        ])
        let topology = try ClusterTopology(slotsReply: reply, answeredBy: asked)
        #expect(topology.primary(forSlot: 50) == HostAndPort(host: "10.0.0.9", port: 7100))
        #expect(topology.primary(forSlot: 150) == HostAndPort(host: "10.0.0.9", port: 7200))
        #expect(topology.primary(forSlot: 250) == nil)
        #expect(topology.assignedSlotCount == 200)
    }

    @Test func malformedRepliesAreProtocolErrors() {
        for reply: RESPValue in [
            .simpleString("OK"), .array([.integer(1)]), .array([range(5, 4, .null, 7000)]),
            .array([range(0, 16384, .null, 7000)]), .array([range(0, 1, .null, 0)]),
        ] {
            #expect(throws: RedisError.self) { try ClusterTopology(slotsReply: reply, answeredBy: asked) }
        }
    }

    @Test func redirectsNameSlotAndTarget() {
        #expect(
            ClusterRedirect(errorMessage: "MOVED 3999 127.0.0.1:6381", from: asked)
                == .moved(slot: 3999, to: HostAndPort(host: "127.0.0.1", port: 6381)))
        #expect(
            ClusterRedirect(errorMessage: "ASK 12 ::1:7000", from: asked)
                == .ask(slot: 12, to: HostAndPort(host: "::1", port: 7000)))
        #expect(
            ClusterRedirect(errorMessage: "MOVED 7 :7005", from: asked)
                == .moved(slot: 7, to: HostAndPort(host: "10.0.0.9", port: 7005)))
        #expect(ClusterRedirect(errorMessage: "ERR wrong number of arguments", from: asked) == nil)
        #expect(ClusterRedirect(errorMessage: "MOVED 99999 127.0.0.1:6381", from: asked) == nil)
    }
}
