// AddressResolver.swift -- host and port text to socket addresses (getaddrinfo), with the guide's rules:
// `''`, `0.0.0.0` and `::` mean all interfaces; no host at all means loopback. `-4`/`-6` keep one family;
// a port may be a service name from the system's services list (/etc/services).
import Glibc

/// Which IP family a name may resolve to: `-4`, `-6`, or either.
public enum IPFamily: Sendable, Equatable {
    case any, ipv4, ipv6

    /// The getaddrinfo hint: AF_UNSPEC, AF_INET or AF_INET6.
    var hint: CInt {
        switch self {
        case .any: AF_UNSPEC
        case .ipv4: AF_INET
        case .ipv6: AF_INET6
        }
    }

    /// True when `address` is of this family.
    public func admits(_ address: SocketAddress) -> Bool {
        switch self {
        case .any: true
        case .ipv4: address.family == AF_INET
        case .ipv6: address.family == AF_INET6
        }
    }

    /// "IPv4", "IPv6", or "IP", for messages.
    public var name: String {
        switch self {
        case .any: "IP"
        case .ipv4: "IPv4"
        case .ipv6: "IPv6"
        }
    }
}

/// The transport a service name is looked up for: /etc/services lists some names for one of them only
/// (tftp is 69/udp, and no TCP port).
public enum ServiceTransport: String, Sendable, Equatable {
    case tcp, udp

    /// The other one: where a name this one lacks may be found.
    public var other: ServiceTransport { self == .tcp ? .udp : .tcp }

    /// "TCP" or "UDP", for messages.
    public var name: String { rawValue.uppercased() }
}

/// EAI_ADDRFAMILY (glibc's netdb.h, behind _GNU_SOURCE, so not in Swift's Glibc): the name has no address
/// in the family asked for.
let addressFamilyNotFound: CInt = -9

/// A host name that could not be resolved; carries getaddrinfo's own message.
public struct ResolutionError: Error, CustomStringConvertible, Sendable, Equatable {
    /// The name that failed.
    public let host: String
    /// gai_strerror's text, e.g. "Name or service not known".
    public let reason: String
    /// The EAI_* code.
    public let code: CInt
    /// The family the name was asked for (`-4`/`-6`): `.any` unless one was.
    public let family: IPFamily

    public init(host: String, reason: String, code: CInt, family: IPFamily = .any) {
        self.host = host
        self.reason = reason
        self.code = code
        self.family = family
    }

    public var description: String { "getaddrinfo(\(host)): \(reason)" }

    /// EAI_AGAIN: the resolver could not answer now (DNS down or unreachable); the name may be fine.
    public var isTemporary: Bool { code == EAI_AGAIN }

    /// The name (or address) exists, but not in the family asked for.
    public var isWrongFamily: Bool { family != .any && (code == addressFamilyNotFound || code == EAI_FAMILY) }
}

/// Turns the HOST and PORT a user typed into addresses to bind or connect to.
public enum AddressResolver {
    /// The address a server listens on when no host is given: loopback only.
    public static let defaultServerHost = "127.0.0.1"

    /// Resolves a host for `bind`. `""`, `"0.0.0.0"` mean every IPv4 interface, `"::"` every interface.
    ///
    /// - Parameters:
    ///   - host: A name, an IPv4 or IPv6 address (brackets allowed), or `""`; nil means loopback.
    ///   - port: 0 lets the kernel pick a free port.
    ///   - family: `-4`/`-6`: only addresses of that family (`""` then means 0.0.0.0 or ::, no host 127.0.0.1
    ///     or ::1).
    /// - Returns: Every address the name resolves to, in getaddrinfo's order; a server binds the first.
    /// - Throws: `ResolutionError` when the name does not resolve (in that family).
    public static func serverAddresses(
        host: String?,
        port: UInt16,
        family: IPFamily = .any
    ) throws(ResolutionError) -> [SocketAddress] {
        let host = unbracketed(host ?? (family == .ipv6 ? "::1" : defaultServerHost))
        if host.isEmpty {
            return [
                family == .ipv6 ? SocketAddress(ipv6: "::", port: port)! : SocketAddress(ipv4: "0.0.0.0", port: port)!
            ]
        }
        return try resolve(host: host, port: port, family: family, passive: true)
    }

    /// The first of `serverAddresses`: the one a server binds.
    public static func serverAddress(
        host: String?,
        port: UInt16,
        family: IPFamily = .any
    ) throws(ResolutionError) -> SocketAddress {
        try serverAddresses(host: host, port: port, family: family)[0]
    }

    /// Resolves a host to connect to, every address in the order getaddrinfo gives them (IPv6 first for
    /// names like "localhost" on most systems); a client tries them in turn. `""` means loopback.
    ///
    /// - Throws: `ResolutionError` when the name does not resolve (in that family).
    public static func clientAddresses(
        host: String,
        port: UInt16,
        family: IPFamily = .any
    ) throws(ResolutionError) -> [SocketAddress] {
        let host = unbracketed(host)
        let loopback = family == .ipv6 ? "::1" : "127.0.0.1"
        return try resolve(host: host.isEmpty ? loopback : host, port: port, family: family, passive: false)
    }

    /// The port of a service name for `transport` ("http" is 80 for TCP, "tftp" 69 for UDP only), from the
    /// system's services list; nil when the list has no such name for it. The corresponding C function is
    /// `getservbyname(3)`.
    public static func servicePort(_ name: String, for transport: ServiceTransport = .tcp) -> UInt16? {
        guard !name.isEmpty, let entry = getservbyname(name, transport.rawValue) else { return nil }
        // s_port holds the port in network byte order, in an int.
        return UInt16(bigEndian: UInt16(truncatingIfNeeded: entry.pointee.s_port))
    }

    /// True for text that is a numeric IPv4 or IPv6 address (brackets allowed): no resolver is asked, so a
    /// server given one has no choice to report.
    public static func isNumeric(_ host: String) -> Bool {
        let host = unbracketed(host)
        return SocketAddress(ipv4: host, port: 0) != nil || SocketAddress(ipv6: host, port: 0) != nil
    }

    /// "[::1]" -> "::1", so a user can paste an address as sockettool prints it.
    static func unbracketed(_ host: String) -> String {
        if host.hasPrefix("[") && host.hasSuffix("]") { return String(host.dropFirst().dropLast()) }
        return host
    }

    /// The corresponding C function is `getaddrinfo(3)`.
    private static func resolve(
        host: String,
        port: UInt16,
        family: IPFamily,
        passive: Bool
    ) throws(ResolutionError) -> [SocketAddress] {
        // Numeric addresses need no resolver, and never fail for lack of one.
        if let numeric = SocketAddress(ipv4: host, port: port) ?? SocketAddress(ipv6: host, port: port) {
            guard family.admits(numeric) else {
                throw ResolutionError(
                    host: host,
                    reason: "not an \(family.name) address",
                    code: EAI_FAMILY,
                    family: family
                )
            }
            return [numeric]
        }
        var hints = addrinfo()
        hints.ai_family = family.hint
        hints.ai_socktype = CInt(SOCK_STREAM.rawValue)
        hints.ai_flags = AI_NUMERICSERV | (passive ? AI_PASSIVE : 0)
        var list: UnsafeMutablePointer<addrinfo>?
        let status = getaddrinfo(host, String(port), &hints, &list)
        guard status == 0, let first = list else {
            let reason = status == EAI_SYSTEM ? String(cString: strerror(errno)) : String(cString: gai_strerror(status))
            // A name with addresses of the other family only: glibc says EAI_NODATA or EAI_NONAME (not
            // EAI_ADDRFAMILY) depending on the source; say it plainly when a family was asked for.
            if family != .any && status != EAI_AGAIN && status != EAI_SYSTEM,
                let other = try? resolve(host: host, port: port, family: .any, passive: passive), !other.isEmpty
            {
                throw ResolutionError(
                    host: host,
                    reason: "no \(family.name) address (it has \(other.map(\.host).joined(separator: ", ")))",
                    code: addressFamilyNotFound,
                    family: family
                )
            }
            throw ResolutionError(host: host, reason: reason, code: status, family: family)
        }
        defer { freeaddrinfo(list) }
        var addresses: [SocketAddress] = []
        var entry: UnsafeMutablePointer<addrinfo>? = first
        while let info = entry {
            if let raw = info.pointee.ai_addr, info.pointee.ai_family == AF_INET || info.pointee.ai_family == AF_INET6 {
                var storage = sockaddr_storage()
                withUnsafeMutableBytes(of: &storage) { destination in
                    destination.copyMemory(
                        from: UnsafeRawBufferPointer(start: raw, count: Int(info.pointee.ai_addrlen))
                    )
                }
                let address = SocketAddress(storage: storage, length: info.pointee.ai_addrlen)
                if family.admits(address) && !addresses.contains(address) { addresses.append(address) }
            }
            entry = info.pointee.ai_next
        }
        guard !addresses.isEmpty else {
            throw ResolutionError(host: host, reason: "no \(family.name) address", code: EAI_NONAME, family: family)
        }
        return addresses
    }
}
