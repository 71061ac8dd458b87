// EndpointTests.swift -- the endpoint model in-process: -4/-6 keep one family, a port may be a service
// name, and a client's --source is the address the server sees.
import Foundation
import SocketCore
import Testing

@Suite("endpoints: families, service names, source addresses")
struct EndpointTests {
    @Test("-4 and -6 pick the default loopback and wildcard of their family")
    func familyDefaults() throws {
        #expect(
            try AddressResolver.serverAddresses(host: nil, port: 1, family: .ipv6).map(\.description) == ["[::1]:1"]
        )
        #expect(try AddressResolver.serverAddresses(host: "", port: 2, family: .ipv6).map(\.description) == ["[::]:2"])
        #expect(
            try AddressResolver.serverAddresses(host: "", port: 3, family: .ipv4).map(\.description) == ["0.0.0.0:3"]
        )
        #expect(try AddressResolver.clientAddresses(host: "", port: 4, family: .ipv6).map(\.description) == ["[::1]:4"])
    }

    @Test("a name resolves to its addresses of the family asked for, and only those")
    func nameFiltered() throws {
        let all = try AddressResolver.clientAddresses(host: "localhost", port: 7)
        for family in [IPFamily.ipv4, .ipv6] {
            let expected = all.filter { family.admits($0) }
            if expected.isEmpty {
                let error = try #require(throws: ResolutionError.self) {
                    try AddressResolver.clientAddresses(host: "localhost", port: 7, family: family)
                }
                #expect(error.isWrongFamily, "\(error)")
            } else {
                #expect(try AddressResolver.clientAddresses(host: "localhost", port: 7, family: family) == expected)
            }
        }
    }

    @Test("a numeric address of the other family is refused as such, not looked up")
    func numericWrongFamily() throws {
        let error = try #require(throws: ResolutionError.self) {
            try AddressResolver.serverAddresses(host: "::1", port: 1, family: .ipv4)
        }
        #expect(error.isWrongFamily && error.reason == "not an IPv4 address")
        #expect(throws: ResolutionError.self) {
            try AddressResolver.clientAddresses(host: "127.0.0.1", port: 1, family: .ipv6)
        }
    }

    @Test(
        "a service name is the port the services list gives it",
        .enabled(if: FileManager.default.fileExists(atPath: "/etc/services"), "/etc/services is missing here")
    )
    func serviceNames() throws {
        #expect(AddressResolver.servicePort("http") == 80)
        #expect(AddressResolver.servicePort("ssh") == 22)
        #expect(AddressResolver.servicePort("no-such-service") == nil)
        #expect(AddressResolver.servicePort("") == nil)
    }

    @Test("--source: the connection leaves from that address, which the server sees as the peer")
    func sourceAddressIsThePeer() throws {
        let server = try InProcessServer(.multi)
        let source = try #require(SocketAddress(ipv4: "127.0.0.2", port: 0))
        let summary = try EchoClient.run(
            target: DialTarget(addresses: [server.address], source: source),
            payload: Array("from two".utf8),
            options: ClientOptions(),
            log: ClientProgramTests.capturingLog(PrintedLines()),
            reactor: try testReactor()
        )
        // Stopped first: the server's lines are all written once its loop has ended.
        server.stop()
        #expect(summary.bytesReceived == 8)
        let accepted = server.printed.first { $0.hasPrefix("Accepted connection from ") }
        #expect(accepted?.hasPrefix("Accepted connection from 127.0.0.2:") == true, "\(server.printed)")
    }
}
