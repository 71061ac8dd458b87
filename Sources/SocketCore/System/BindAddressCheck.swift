// BindAddressCheck.swift -- addresses a stream server must not listen on although bind() may take them:
// multicast and broadcast (bind succeeds and the server waits where no TCP client can ever reach it), and
// an IPv6 link-local address without its interface (bind fails with a bare EINVAL that explains nothing).
import Glibc

/// Why an address cannot be a stream server's listening address.
public enum BindAddressError: Error, Sendable, Equatable, CustomStringConvertible {
    /// fe80::/10 given without `%interface`: the same address exists on every link.
    case linkLocalWithoutScope(String)
    /// 224.0.0.0/4 or ff00::/8: a group for datagrams, never a TCP endpoint.
    case multicast(String)
    /// 255.255.255.255: every host on the link, never a TCP endpoint.
    case broadcast(String)

    public var description: String {
        switch self {
        case .linkLocalWithoutScope(let host):
            "cannot listen on \(host): a link-local address needs the interface it belongs to"
        case .multicast(let host):
            "cannot listen on \(host): it is a multicast address, and a TCP server needs one of this machine's own"
        case .broadcast(let host):
            "cannot listen on \(host): it is the broadcast address, and a TCP server needs one of this machine's own"
        }
    }
}

/// The check every stream server makes on the address it resolved, before it binds.
public enum BindAddressCheck {
    /// Refuses multicast, broadcast and unscoped link-local addresses (IPv4-mapped forms included).
    ///
    /// - Throws: `BindAddressError` naming what is wrong with the address.
    public static func checkStreamServer(_ address: SocketAddress) throws(BindAddressError) {
        let host = address.host
        if address.isIPv6 {
            let (bytes, scope) = ipv6Bytes(of: address)
            if bytes[0] == 0xFF { throw .multicast(host) }
            if bytes[0] == 0xFE && bytes[1] & 0xC0 == 0x80 && scope == 0 { throw .linkLocalWithoutScope(host) }
            // ::ffff:a.b.c.d reaches the IPv4 address a.b.c.d.
            if bytes[0..<10].allSatisfy({ $0 == 0 }) && bytes[10] == 0xFF && bytes[11] == 0xFF {
                try checkIPv4(Array(bytes[12..<16]), host: host)
            }
        } else {
            let bytes = withUnsafeBytes(of: address.storage) { raw in
                Array(raw[MemoryLayout<sockaddr_in>.offset(of: \.sin_addr)!...].prefix(4))
            }
            try checkIPv4(bytes, host: host)
        }
    }

    private static func checkIPv4(_ bytes: [UInt8], host: String) throws(BindAddressError) {
        if bytes[0] >= 224 && bytes[0] <= 239 { throw .multicast(host) }
        if bytes.allSatisfy({ $0 == 0xFF }) { throw .broadcast(host) }
    }

    /// The 16 address bytes and the scope id of an IPv6 address.
    private static func ipv6Bytes(of address: SocketAddress) -> (bytes: [UInt8], scope: UInt32) {
        withUnsafeBytes(of: address.storage) { raw in
            let offset = MemoryLayout<sockaddr_in6>.offset(of: \.sin6_addr)!
            let scopeOffset = MemoryLayout<sockaddr_in6>.offset(of: \.sin6_scope_id)!
            return (Array(raw[offset..<offset + 16]), raw.loadUnaligned(fromByteOffset: scopeOffset, as: UInt32.self))
        }
    }
}
