import SluiceNet
import Testing

@Suite struct SocketAddressTests {
    @Test func parsesIPv4AndIPv6() throws {
        let v4 = try SocketAddress(ip: "127.0.0.1", port: 6379)
        #expect(v4.description == "127.0.0.1:6379")
        #expect(v4.addressBytes == [127, 0, 0, 1])
        let v6 = try SocketAddress(ip: "::1", port: 80)
        #expect(v6.description == "[::1]:80")
        #expect(v6.addressBytes.count == 16)
    }

    @Test func rejectsNamesAndBadPorts() {
        #expect(throws: AddressError.self) { try SocketAddress(ip: "localhost", port: 1) }
        #expect(throws: AddressError.self) { try SocketAddress(ip: "127.0.0.1", port: 70000) }
    }

    @Test(arguments: [
        ("redis.local", "redis.local", 6379),
        ("redis.local:7000", "redis.local", 7000),
        ("[::1]:6380", "::1", 6380),
        ("[::1]", "::1", 6379),
        ("10.0.0.1:1", "10.0.0.1", 1),
    ])
    func parsesHostAndPort(input: String, host: String, port: Int) throws {
        let parsed = try HostAndPort(parsing: input, defaultPort: 6379)
        #expect(parsed.host == host)
        #expect(parsed.port == port)
    }

    @Test(arguments: ["", ":6379", "::1:6379", "[::1", "host:0", "host:99999", "host:abc", "[::1]x"])
    func rejectsBadHostAndPort(input: String) {
        #expect(throws: AddressError.self) { try HostAndPort(parsing: input, defaultPort: 6379) }
    }

    @Test func resolvesLocalhostAndReportsUnknownNames() throws {
        let addresses = try Resolver.resolve(HostAndPort(host: "localhost", port: 9))
        #expect(addresses.contains { $0.ip == "127.0.0.1" || $0.ip == "::1" })
        #expect(throws: ResolveError.self) {
            try Resolver.resolve(HostAndPort(host: "no-such-host.invalid", port: 9))
        }
    }

    @Test func ipv4AddressesPrintAsDottedQuads() throws {
        for text in ["0.0.0.0", "255.255.255.255", "10.0.100.9", "192.168.1.20", "127.0.0.1", "1.23.45.199"] {
            #expect(try SocketAddress(ip: text, port: 80).ip == text)
        }
    }
}
