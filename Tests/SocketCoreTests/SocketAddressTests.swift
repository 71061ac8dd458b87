// SocketAddressTests.swift -- address text as sockettool prints it, and the resolver's rules.
import SocketCore
import Testing

@Suite struct SocketAddressTests {
    @Test(arguments: [
        ("127.0.0.1", 65432, "127.0.0.1:65432"), ("0.0.0.0", 0, "0.0.0.0:0"), ("10.200.3.45", 7, "10.200.3.45:7"),
        ("255.255.255.255", 65535, "255.255.255.255:65535"),
    ])
    func ipv4Text(host: String, port: Int, expected: String) throws {
        let address = try #require(SocketAddress(ipv4: host, port: UInt16(port)))
        #expect(address.description == expected)
        #expect(address.host == host)
        #expect(address.port == UInt16(port))
    }

    @Test func ipv6TextHasBrackets() throws {
        let address = try #require(SocketAddress(ipv6: "::1", port: 80))
        #expect(address.description == "[::1]:80")
        #expect(address.isLoopback)
    }

    @Test func serverDefaultsAndWildcards() throws {
        #expect(try AddressResolver.serverAddress(host: nil, port: 1).description == "127.0.0.1:1")
        #expect(try AddressResolver.serverAddress(host: "", port: 2).description == "0.0.0.0:2")
        #expect(try AddressResolver.serverAddress(host: "0.0.0.0", port: 3).isWildcard)
        #expect(try AddressResolver.serverAddress(host: "::", port: 4).isWildcard)
        #expect(try AddressResolver.serverAddress(host: "[::1]", port: 5).description == "[::1]:5")
    }

    @Test func unknownHostsFailWithTheResolversMessage() throws {
        // RFC 6761: names under .invalid never resolve. The message is getaddrinfo's own (gai_strerror), with
        // the name it was asked for.
        let error = try #require(throws: ResolutionError.self) {
            try AddressResolver.clientAddresses(host: "no-such-host.invalid", port: 1)
        }
        // Without a reachable DNS server the answer is "try again" (EAI_AGAIN) rather than "no such name".
        let gaiMessages = [
            "Name or service not known", "No address associated with hostname", "Temporary failure in name resolution",
        ]
        #expect(error.host == "no-such-host.invalid")
        #expect(gaiMessages.contains(error.reason), "\(error)")
        #expect(error.description == "getaddrinfo(no-such-host.invalid): \(error.reason)")
    }
}
