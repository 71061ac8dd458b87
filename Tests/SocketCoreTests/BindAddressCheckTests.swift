// BindAddressCheckTests.swift -- which resolved addresses a stream server refuses before bind().
import SocketCore
import Testing

@Suite struct BindAddressCheckTests {
    @Test(
        "multicast, broadcast and unscoped link-local addresses are refused",
        arguments: [
            ("224.0.0.1", BindAddressError.multicast("224.0.0.1")),
            ("239.255.255.250", .multicast("239.255.255.250")),
            ("255.255.255.255", .broadcast("255.255.255.255")),
            ("ff02::1", .multicast("ff02::1")),
            ("ff0e::1", .multicast("ff0e::1")),
            ("fe80::1", .linkLocalWithoutScope("fe80::1")),
            ("febf::1", .linkLocalWithoutScope("febf::1")),
            ("::ffff:224.0.0.1", .multicast("::ffff:224.0.0.1")),
            ("::ffff:255.255.255.255", .broadcast("::ffff:255.255.255.255")),
        ]
    )
    func refused(host: String, expected: BindAddressError) throws {
        let address = try AddressResolver.serverAddress(host: host, port: 0)
        #expect(throws: expected) { try BindAddressCheck.checkStreamServer(address) }
    }

    @Test(
        "unicast, wildcard and scoped link-local addresses pass",
        arguments: [
            "127.0.0.1", "0.0.0.0", "", "::", "::1", "10.0.0.1", "223.255.255.255", "240.0.0.1", "fec0::1",
            "fe80::1%lo", "::ffff:127.0.0.1",
        ]
    )
    func accepted(host: String) throws {
        let address = try AddressResolver.serverAddress(host: host, port: 0)
        try BindAddressCheck.checkStreamServer(address)
    }
}
