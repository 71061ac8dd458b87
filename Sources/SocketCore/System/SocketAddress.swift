// SocketAddress.swift -- an IPv4, IPv6 or Unix domain socket address, printed as `host:port`, `[v6]:port` or
// the socket's path.
import Glibc

/// An IPv4 or IPv6 address and port, or a Unix domain socket's path, as the kernel stores it.
public struct SocketAddress: Sendable, Equatable, CustomStringConvertible {
    /// The raw address; only the first `length` bytes are meaningful.
    public var storage: sockaddr_storage
    /// How many bytes of `storage` the kernel filled in.
    public var length: socklen_t

    /// An address the kernel filled in (accept, getsockname); `length` says how much of it is valid.
    public init(storage: sockaddr_storage, length: socklen_t) {
        self.storage = storage
        self.length = length
    }

    /// An IPv4 address from its numeric text, e.g. "127.0.0.1"; nil when the text is not one.
    public init?(ipv4 text: String, port: UInt16) {
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = port.bigEndian
        guard inet_pton(AF_INET, text, &address.sin_addr) == 1 else { return nil }
        self.init(copying: address)
    }

    /// An IPv6 address from its numeric text, e.g. "::1"; nil when the text is not one.
    public init?(ipv6 text: String, port: UInt16) {
        var address = sockaddr_in6()
        address.sin6_family = sa_family_t(AF_INET6)
        address.sin6_port = port.bigEndian
        guard inet_pton(AF_INET6, text, &address.sin6_addr) == 1 else { return nil }
        self.init(copying: address)
    }

    /// The longest Unix socket path: sun_path's 108 bytes less the terminating NUL (unix(7)).
    public static let maximumUnixPathLength = MemoryLayout.size(ofValue: sockaddr_un().sun_path) - 1

    /// A Unix domain socket address (AF_UNIX) for a filesystem path; nil when the path is empty, holds a NUL,
    /// or is longer than `maximumUnixPathLength` bytes.
    public init?(unixPath path: String) {
        let bytes = Array(path.utf8)
        guard !bytes.isEmpty, bytes.count <= Self.maximumUnixPathLength, !bytes.contains(0) else { return nil }
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        withUnsafeMutableBytes(of: &address.sun_path) { raw in raw.copyBytes(from: bytes) }
        self.init(copying: address)
        // The path and its NUL, not the whole of sun_path (unix(7): "offsetof(struct sockaddr_un, sun_path) +
        // strlen(sun_path) + 1").
        length = socklen_t(MemoryLayout<sockaddr_un>.offset(of: \.sun_path)! + bytes.count + 1)
    }

    /// The path of a Unix domain socket address; "" for an unnamed one (what accept reports for a client
    /// that did not bind), nil for an IP address.
    public var unixPath: String? {
        guard isUnix else { return nil }
        let offset = MemoryLayout<sockaddr_un>.offset(of: \.sun_path)!
        let count = max(0, Int(length) - offset)
        return withUnsafeBytes(of: storage) { raw in
            let bytes = raw[offset..<offset + min(count, Self.maximumUnixPathLength + 1)]
            return String(decoding: bytes.prefix { $0 != 0 }, as: UTF8.self)
        }
    }

    /// Copies a sockaddr_in, sockaddr_in6 or sockaddr_un into storage.
    init<Raw>(copying raw: Raw) {
        var storage = sockaddr_storage()
        withUnsafeMutableBytes(of: &storage) { destination in
            withUnsafeBytes(of: raw) { destination.copyMemory(from: $0) }
        }
        self.init(storage: storage, length: socklen_t(MemoryLayout<Raw>.size))
    }

    /// AF_INET or AF_INET6.
    public var family: CInt { CInt(storage.ss_family) }

    /// True for IPv6 addresses.
    public var isIPv6: Bool { family == AF_INET6 }

    /// True for Unix domain socket addresses.
    public var isUnix: Bool { family == AF_UNIX }

    /// The port, in host byte order; 0 for a Unix domain socket.
    public var port: UInt16 {
        get {
            guard !isUnix else { return 0 }
            return withUnsafeBytes(of: storage) { raw in
                // sin_port and sin6_port sit at the same offset, right after the family.
                UInt16(bigEndian: raw.load(fromByteOffset: 2, as: UInt16.self))
            }
        }
        set {
            guard !isUnix else { return }
            withUnsafeMutableBytes(of: &storage) { raw in
                raw.storeBytes(of: newValue.bigEndian, toByteOffset: 2, as: UInt16.self)
            }
        }
    }

    /// The address in network order without the port: 4 bytes for IPv4, 16 for IPv6.
    public var addressBytes: [UInt8] {
        guard !isUnix else { return [] }
        return withUnsafeBytes(of: storage) { raw in
            let offset =
                isIPv6
                ? MemoryLayout<sockaddr_in6>.offset(of: \.sin6_addr)!
                : MemoryLayout<sockaddr_in>.offset(of: \.sin_addr)!
            return Array(raw[offset..<offset + (isIPv6 ? 16 : 4)])
        }
    }

    /// The address without the port, e.g. "127.0.0.1" or "::1" (a Unix socket's path). The corresponding C
    /// function is `inet_ntop(3)`.
    public var host: String {
        if let unixPath { return unixPath }
        if !isIPv6 { return ipv4Text() }
        var text = [CChar](repeating: 0, count: Int(INET6_ADDRSTRLEN) + 1)
        let converted = withUnsafeBytes(of: storage) { raw -> Bool in
            let offset =
                isIPv6
                ? MemoryLayout<sockaddr_in6>.offset(of: \.sin6_addr)!
                : MemoryLayout<sockaddr_in>.offset(of: \.sin_addr)!
            return inet_ntop(family, raw.baseAddress! + offset, &text, socklen_t(text.count)) != nil
        }
        guard converted else { return "?" }
        return String(decoding: text.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }

    /// Dotted-quad text without inet_ntop (which goes through sprintf): servers format every peer they accept.
    private func ipv4Text(withPort: Bool = false) -> String {
        withUnsafeBytes(of: storage) { raw in
            let addressOffset = MemoryLayout<sockaddr_in>.offset(of: \.sin_addr)!
            let port = UInt16(bigEndian: raw.load(fromByteOffset: 2, as: UInt16.self))
            return String(unsafeUninitializedCapacity: 21) { text in
                var used = 0
                func put(_ value: Int) {
                    if value >= 10_000 {
                        text[used] = UInt8(ascii: "0") + UInt8(value / 10_000)
                        used += 1
                    }
                    if value >= 1000 {
                        text[used] = UInt8(ascii: "0") + UInt8(value / 1000 % 10)
                        used += 1
                    }
                    if value >= 100 {
                        text[used] = UInt8(ascii: "0") + UInt8(value / 100 % 10)
                        used += 1
                    }
                    if value >= 10 {
                        text[used] = UInt8(ascii: "0") + UInt8(value / 10 % 10)
                        used += 1
                    }
                    text[used] = UInt8(ascii: "0") + UInt8(value % 10)
                    used += 1
                }
                for index in 0..<4 {
                    if index > 0 {
                        text[used] = UInt8(ascii: ".")
                        used += 1
                    }
                    put(Int(raw[addressOffset + index]))
                }
                if withPort {
                    text[used] = UInt8(ascii: ":")
                    used += 1
                    put(Int(port))
                }
                return used
            }
        }
    }

    /// True for 0.0.0.0 and ::, the addresses that mean "every interface".
    public var isWildcard: Bool { !isUnix && (host == "0.0.0.0" || host == "::") }

    /// True for 127.0.0.0/8 and ::1.
    public var isLoopback: Bool { !isUnix && (host.hasPrefix("127.") || host == "::1") }

    /// `127.0.0.1:65432`, `[::1]:65432`, or a Unix socket's path.
    public var description: String {
        if let unixPath { return unixPath }
        return isIPv6 ? "[" + host + "]:" + String(port) : ipv4Text(withPort: true)
    }

    public static func == (lhs: SocketAddress, rhs: SocketAddress) -> Bool {
        guard lhs.length == rhs.length else { return false }
        return withUnsafeBytes(of: lhs.storage) { l in
            withUnsafeBytes(of: rhs.storage) { r in memcmp(l.baseAddress!, r.baseAddress!, Int(lhs.length)) == 0 }
        }
    }

    /// Calls `body` with the address as the `sockaddr` pointer the C API wants.
    public func withSockAddr<R>(
        _ body: (UnsafePointer<sockaddr>, socklen_t) throws(SystemError) -> R
    ) throws(SystemError) -> R {
        var copy = storage
        return try withUnsafePointer(to: &copy) { pointer throws(SystemError) -> R in
            try pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { sockaddrPointer throws(SystemError) -> R in
                try body(sockaddrPointer, length)
            }
        }
    }
}
