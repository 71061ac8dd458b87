// AddressResolver.swift -- host and port text to socket addresses (getaddrinfo), with the guide's rules:
// `''`, `0.0.0.0` and `::` mean all interfaces; no host at all means loopback.
import Glibc

/// A host name that could not be resolved; carries getaddrinfo's own message.
public struct ResolutionError: Error, CustomStringConvertible, Sendable, Equatable {
    /// The name that failed.
    public let host: String
    /// gai_strerror's text, e.g. "Name or service not known".
    public let reason: String
    /// The EAI_* code.
    public let code: CInt

    public var description: String { "getaddrinfo(\(host)): \(reason)" }

    /// EAI_AGAIN: the resolver could not answer now (DNS down or unreachable); the name may be fine.
    public var isTemporary: Bool { code == EAI_AGAIN }
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
    /// - Returns: The first address the name resolves to.
    /// - Throws: `ResolutionError` when the name does not resolve.
    public static func serverAddress(host: String?, port: UInt16) throws(ResolutionError) -> SocketAddress {
        let host = unbracketed(host ?? defaultServerHost)
        if host.isEmpty { return SocketAddress(ipv4: "0.0.0.0", port: port)! }
        return try resolve(host: host, port: port, passive: true)[0]
    }

    /// Resolves a host to connect to, every address in the order getaddrinfo gives them (IPv6 first for
    /// names like "localhost" on most systems); a client tries them in turn.
    ///
    /// - Throws: `ResolutionError` when the name does not resolve.
    public static func clientAddresses(host: String, port: UInt16) throws(ResolutionError) -> [SocketAddress] {
        let host = unbracketed(host)
        return try resolve(host: host.isEmpty ? "127.0.0.1" : host, port: port, passive: false)
    }

    /// "[::1]" -> "::1", so a user can paste an address as sockettool prints it.
    static func unbracketed(_ host: String) -> String {
        if host.hasPrefix("[") && host.hasSuffix("]") { return String(host.dropFirst().dropLast()) }
        return host
    }

    /// The corresponding C function is `getaddrinfo(3)`.
    private static func resolve(host: String, port: UInt16, passive: Bool) throws(ResolutionError) -> [SocketAddress] {
        // Numeric addresses need no resolver, and never fail for lack of one.
        if let v4 = SocketAddress(ipv4: host, port: port) { return [v4] }
        if let v6 = SocketAddress(ipv6: host, port: port) { return [v6] }
        var hints = addrinfo()
        hints.ai_family = AF_UNSPEC
        hints.ai_socktype = CInt(SOCK_STREAM.rawValue)
        hints.ai_flags = AI_NUMERICSERV | (passive ? AI_PASSIVE : 0)
        var list: UnsafeMutablePointer<addrinfo>?
        let status = getaddrinfo(host, String(port), &hints, &list)
        guard status == 0, let first = list else {
            let reason = status == EAI_SYSTEM ? String(cString: strerror(errno)) : String(cString: gai_strerror(status))
            throw ResolutionError(host: host, reason: reason, code: status)
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
                if !addresses.contains(address) { addresses.append(address) }
            }
            entry = info.pointee.ai_next
        }
        guard !addresses.isEmpty else {
            throw ResolutionError(host: host, reason: "no IPv4 or IPv6 address", code: EAI_NONAME)
        }
        return addresses
    }
}
