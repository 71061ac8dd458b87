// InheritedSocket.swift -- a descriptor another process opened and passed down (systemd socket activation):
// what it is, looked at without trusting it, and adopted as one of our own listening sockets.
//
// The rule of this file: a descriptor number we did not open may be closed, a pipe, a file or a socket of
// any kind, so nothing here traps on EBADF or ENOTSOCK; each answer is a value the caller explains.
import Glibc

/// What a passed descriptor turned out to be (sd_is_socket(3)'s questions).
public struct InheritedDescriptor: Sendable, Equatable {
    /// False when the number is not an open descriptor at all.
    public var isOpen: Bool
    /// True for a socket (fstat's S_IFSOCK).
    public var isSocket: Bool
    /// SO_TYPE: SOCK_STREAM, SOCK_DGRAM, ...; 0 when not a socket.
    public var type: CInt
    /// SO_ACCEPTCONN: listen() was called on it.
    public var isListening: Bool
    /// SO_DOMAIN: AF_INET, AF_INET6, AF_UNIX, ...; 0 when not a socket.
    public var family: CInt

    /// Looks at `descriptor`. The corresponding C functions are `fcntl(2)`, `fstat(2)` and `getsockopt(2)`.
    public static func inspect(_ descriptor: CInt) -> InheritedDescriptor {
        var result = InheritedDescriptor(isOpen: false, isSocket: false, type: 0, isListening: false, family: 0)
        guard descriptor >= 0, fcntl(descriptor, F_GETFD) >= 0 else { return result }
        result.isOpen = true
        var status = stat()
        guard fstat(descriptor, &status) == 0, status.st_mode & S_IFMT == S_IFSOCK else { return result }
        result.isSocket = true
        result.type = option(descriptor, SO_TYPE) ?? 0
        result.isListening = (option(descriptor, SO_ACCEPTCONN) ?? 0) != 0
        result.family = option(descriptor, SO_DOMAIN) ?? 0
        return result
    }

    private static func option(_ descriptor: CInt, _ name: CInt) -> CInt? {
        var value: CInt = 0
        var length = socklen_t(MemoryLayout<CInt>.size)
        return getsockopt(descriptor, SOL_SOCKET, name, &value, &length) == 0 ? value : nil
    }

    /// True for a SOCK_STREAM socket.
    public var isStream: Bool { type == CInt(SOCK_STREAM.rawValue) }

    /// "SOCK_DGRAM", "SOCK_SEQPACKET", ...: the type as systemd's unit files and man pages spell it.
    public var typeName: String {
        switch type {
        case CInt(SOCK_STREAM.rawValue): "SOCK_STREAM"
        case CInt(SOCK_DGRAM.rawValue): "SOCK_DGRAM"
        case CInt(SOCK_SEQPACKET.rawValue): "SOCK_SEQPACKET"
        case CInt(SOCK_RAW.rawValue): "SOCK_RAW"
        default: "socket type \(type)"
        }
    }
}

/// Socket address families by name, for code outside System/ and for messages.
public enum AddressFamily {
    /// AF_INET.
    public static let ipv4: CInt = AF_INET
    /// AF_INET6.
    public static let ipv6: CInt = AF_INET6
    /// AF_UNIX.
    public static let unix: CInt = AF_UNIX

    /// "AF_INET", "AF_INET6", "AF_UNIX", or the number.
    public static func name(_ family: CInt) -> String {
        switch family {
        case AF_INET: "AF_INET"
        case AF_INET6: "AF_INET6"
        case AF_UNIX: "AF_UNIX"
        case AF_NETLINK: "AF_NETLINK"
        case AF_PACKET: "AF_PACKET"
        default: "address family \(family)"
        }
    }
}

extension Socket {
    /// Takes a passed listening socket as one of ours: close-on-exec (so a program we start does not hold
    /// the port), and non-blocking for the reactor or blocking for `serve echo`, as `listening(on:)` makes
    /// its sockets. Check it with `InheritedDescriptor.inspect` first.
    ///
    /// - Throws: `SystemError` from fcntl.
    public static func adoptingListener(_ descriptor: CInt, family: CInt, blocking: Bool) throws(SystemError) -> Socket
    {
        let flags = try retryingInterrupts("fcntl(F_GETFD)", detail: String(descriptor)) { fcntl(descriptor, F_GETFD) }
        _ = try retryingInterrupts("fcntl(FD_CLOEXEC)", detail: String(descriptor)) {
            fcntl(descriptor, F_SETFD, flags | FD_CLOEXEC)
        }
        let socket = Socket(adopting: descriptor, family: family)
        do {
            try socket.setBlocking(blocking)
        } catch {
            socket.close()
            throw error
        }
        return socket
    }

    /// A second descriptor for the same socket (close-on-exec), for another loop to accept from: each loop
    /// of `--workers` owns and closes its own (`Socket(adopting:family:)` on its thread), and the socket
    /// stops listening when the last one is closed. The corresponding C function is `fcntl(2)` with
    /// F_DUPFD_CLOEXEC.
    ///
    /// - Throws: `SystemError` (EMFILE).
    public func duplicateDescriptor() throws(SystemError) -> CInt {
        let fd = descriptor
        return try retryingInterrupts("fcntl(F_DUPFD_CLOEXEC)", detail: String(fd)) { fcntl(fd, F_DUPFD_CLOEXEC, 0) }
    }
}
