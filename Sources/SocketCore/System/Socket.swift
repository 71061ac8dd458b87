// Socket.swift -- a TCP socket descriptor with typed, errno-checked calls.
//
// Owns its descriptor: -1 means closed, and a Socket must be closed explicitly before it goes away.
import CSocketShim
import Glibc

/// Which direction `shutdown` closes.
public enum ShutdownDirection: Sendable {
    case read, write, both
    var raw: CInt {
        switch self {
        case .read: CInt(SHUT_RD)
        case .write: CInt(SHUT_WR)
        case .both: CInt(SHUT_RDWR)
        }
    }
}

/// The outcome of a non-blocking `connect`.
public enum ConnectResult: Sendable, Equatable {
    /// Connected at once (common on loopback).
    case connected
    /// The handshake is under way: wait for writability, then call `finishConnect()`.
    case inProgress
}

/// A stream socket. Non-blocking unless `setBlocking(true)` was called.
public final class Socket {
    /// The descriptor; -1 once closed.
    public private(set) var descriptor: CInt
    /// AF_INET or AF_INET6.
    public let family: CInt
    /// The peer, once known (connect, accept): errors on this socket name it.
    public private(set) var remoteAddress: SocketAddress?

    /// Creates a non-blocking, close-on-exec TCP socket. The corresponding C function is `socket(2)`.
    public init(family: CInt) throws(SystemError) {
        let type = CInt(SOCK_STREAM.rawValue) | CInt(SOCK_NONBLOCK.rawValue) | CInt(SOCK_CLOEXEC.rawValue)
        descriptor = try retryingInterrupts("socket") { Glibc.socket(family, type, 0) }
        self.family = family
    }

    /// Takes ownership of an open descriptor (from accept, socketpair).
    public init(adopting descriptor: CInt, family: CInt) {
        precondition(descriptor >= 0)
        self.descriptor = descriptor
        self.family = family
    }

    deinit {
        assert(descriptor == -1, "leak of open Socket \(descriptor)")
    }

    /// True for an AF_INET6 socket.
    public var isIPv6: Bool { family == AF_INET6 }

    /// True until `close()`.
    public var isOpen: Bool { descriptor >= 0 }

    /// Closes the descriptor once; later calls do nothing. The corresponding C function is `close(2)`.
    public func close() {
        guard descriptor >= 0 else { return }
        let fd = descriptor
        descriptor = -1  // first, so nothing can use a descriptor number the kernel may hand out again
        closeDescriptor(fd)
    }

    // MARK: - Server side

    /// Binds to an address. The corresponding C function is `bind(2)`.
    public func bind(to address: SocketAddress) throws(SystemError) {
        let fd = descriptor
        _ = try address.withSockAddr { pointer, length throws(SystemError) in
            try retryingInterrupts("bind", detail: address.description) { Glibc.bind(fd, pointer, length) }
        }
    }

    /// Starts listening. The kernel caps `backlog` at net.core.somaxconn. The corresponding C function is `listen(2)`.
    public func listen(backlog: CInt) throws(SystemError) {
        let fd = descriptor
        _ = try retryingInterrupts("listen", detail: String(fd)) { Glibc.listen(fd, backlog) }
    }

    /// Accepts one pending connection as a non-blocking socket, or nil when none is pending.
    /// The corresponding C function is `accept4(2)`.
    ///
    /// - Throws: `SystemError`; EMFILE/ENFILE mean no descriptor is left and the caller must back off.
    public func accept() throws(SystemError) -> (socket: Socket, peer: SocketAddress)? {
        var storage = sockaddr_storage()
        var length = socklen_t(MemoryLayout<sockaddr_storage>.size)
        let fd = descriptor
        let result = try withUnsafeMutablePointer(to: &storage) { pointer throws(SystemError) -> IOResult<CInt> in
            try pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { raw throws(SystemError) -> IOResult<CInt> in
                try nonBlocking("accept") { st_accept_nonblocking(fd, raw, &length) }
            }
        }
        guard case .processed(let newDescriptor) = result else { return nil }
        let peer = SocketAddress(storage: storage, length: length)
        let socket = Socket(adopting: newDescriptor, family: peer.family)
        socket.remoteAddress = peer
        return (socket, peer)
    }

    // MARK: - Client side

    /// Starts connecting. The corresponding C function is `connect(2)`.
    ///
    /// - Returns: `.connected`, or `.inProgress`: wait for writability, then call `finishConnect()`.
    public func connect(to address: SocketAddress) throws(SystemError) -> ConnectResult {
        remoteAddress = address
        let fd = descriptor
        return try address.withSockAddr { pointer, length throws(SystemError) -> ConnectResult in
            if Glibc.connect(fd, pointer, length) == 0 { return .connected }
            let code = errno
            // If the socket is non-blocking, EINPROGRESS is the normal answer. EINTR is too: the handshake
            // goes on in the background, and a second connect() would fail with EALREADY, so never retry it.
            if code == EINPROGRESS || code == EINTR { return .inProgress }
            throw SystemError(errno: Errno(rawValue: code), call: "connect", detail: address.description)
        }
    }

    /// Reads the result of a non-blocking connect once the socket is writable (Redis `anetGetError`).
    ///
    /// - Throws: The handshake's error, e.g. ECONNREFUSED.
    public func finishConnect(to address: SocketAddress) throws(SystemError) {
        let code = try pendingError()
        if code != 0 { throw SystemError(errno: Errno(rawValue: code), call: "connect", detail: address.description) }
    }

    /// SO_ERROR: the pending error on the socket, 0 if none (reading it clears it).
    public func pendingError() throws(SystemError) -> CInt {
        try intOption(level: SOL_SOCKET, name: SO_ERROR, call: "getsockopt(SO_ERROR)")
    }

    // MARK: - Data

    /// Reads into `buffer`. `.processed(0)` is end of stream. The corresponding C function is `recv(2)`
    /// with MSG_DONTWAIT: never blocks, even on a socket in blocking mode (`serve echo`), so every wait
    /// goes through poll(), where a deadline or a signal can end it.
    @inline(__always)
    public func read(into buffer: UnsafeMutableRawBufferPointer) throws(SystemError) -> IOResult<Int> {
        let fd = descriptor
        return try nonBlocking("read", detail: errorDetail) {
            Glibc.recv(fd, buffer.baseAddress, buffer.count, CInt(MSG_DONTWAIT))
        }
    }

    /// Reads and drops up to `buffer.count` bytes: `read` with MSG_TRUNC, which on TCP drops them in the
    /// kernel without copying them out (tcp(7)); the count is what was dropped. Other stream sockets (Unix)
    /// ignore the flag and copy into `buffer`, so it must be real memory. `.processed(0)` is end of stream.
    @inline(__always)
    public func discard(upTo buffer: UnsafeMutableRawBufferPointer) throws(SystemError) -> IOResult<Int> {
        let fd = descriptor
        return try nonBlocking("read", detail: errorDetail) {
            Glibc.recv(fd, buffer.baseAddress, buffer.count, CInt(MSG_DONTWAIT) | CInt(MSG_TRUNC))
        }
    }

    /// Writes from `buffer`, possibly only part of it. The corresponding C function is `send(2)` with
    /// MSG_NOSIGNAL, so a reset peer gives EPIPE instead of SIGPIPE even where the signal is not ignored,
    /// and MSG_DONTWAIT, so it never blocks (see `read`).
    @inline(__always)
    public func write(_ buffer: UnsafeRawBufferPointer) throws(SystemError) -> IOResult<Int> {
        try send(buffer, flags: 0)
    }

    /// Writes the last bytes before this socket is closed or shut for writing, possibly only part of them:
    /// `write` with MSG_MORE, so the kernel holds the last partial segment and the FIN that follows rides in
    /// it (one segment, not two). Only when close or `shutdown(.write)` follows as soon as every byte is
    /// taken: until then the held segment is not sent.
    @inline(__always)
    public func writeBeforeClose(_ buffer: UnsafeRawBufferPointer) throws(SystemError) -> IOResult<Int> {
        try send(buffer, flags: CInt(MSG_MORE))
    }

    /// `send(2)` with MSG_NOSIGNAL and MSG_DONTWAIT (see `write`) and `flags`.
    @inline(__always)
    private func send(_ buffer: UnsafeRawBufferPointer, flags: CInt) throws(SystemError) -> IOResult<Int> {
        let fd = descriptor
        return try nonBlocking("send", detail: errorDetail) {
            Glibc.send(fd, buffer.baseAddress, buffer.count, CInt(MSG_NOSIGNAL) | CInt(MSG_DONTWAIT) | flags)
        }
    }

    /// Closes one direction; `.write` sends FIN while reading goes on. The corresponding C function is `shutdown(2)`.
    public func shutdown(_ direction: ShutdownDirection) throws(SystemError) {
        let fd = descriptor
        _ = try retryingInterrupts("shutdown", detail: errorDetail) { Glibc.shutdown(fd, direction.raw) }
    }

    /// Switches between blocking and non-blocking mode (O_NONBLOCK).
    public func setBlocking(_ blocking: Bool) throws(SystemError) {
        let fd = descriptor
        _ = try retryingInterrupts("fcntl(O_NONBLOCK)") { st_set_nonblocking(fd, blocking ? 0 : 1) }
    }

    /// What errors on this socket say they were about: the peer if known.
    private var errorDetail: String { remoteAddress?.description ?? "" }

    // MARK: - Addresses

    /// The local address (with the real port after binding port 0). The corresponding C function is `getsockname(2)`.
    public func localAddress() throws(SystemError) -> SocketAddress {
        try address(call: "getsockname") { fd, pointer, length in getsockname(fd, pointer, length) }
    }

    /// The peer's address. The corresponding C function is `getpeername(2)`.
    public func peerAddress() throws(SystemError) -> SocketAddress {
        try address(call: "getpeername") { fd, pointer, length in getpeername(fd, pointer, length) }
    }

    private func address(
        call: StaticString,
        _ body: (CInt, UnsafeMutablePointer<sockaddr>, UnsafeMutablePointer<socklen_t>) -> CInt
    ) throws(SystemError) -> SocketAddress {
        var storage = sockaddr_storage()
        var length = socklen_t(MemoryLayout<sockaddr_storage>.size)
        let fd = descriptor
        _ = try withUnsafeMutablePointer(to: &storage) { pointer throws(SystemError) -> CInt in
            try pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { raw throws(SystemError) -> CInt in
                try retryingInterrupts(call) { body(fd, raw, &length) }
            }
        }
        return SocketAddress(storage: storage, length: length)
    }

    // MARK: - Options

    /// Reads an integer socket option. The corresponding C function is `getsockopt(2)`.
    func intOption(level: CInt, name: CInt, call: StaticString) throws(SystemError) -> CInt {
        var value: CInt = 0
        var length = socklen_t(MemoryLayout<CInt>.size)
        let fd = descriptor
        _ = try retryingInterrupts(call) { getsockopt(fd, level, name, &value, &length) }
        return value
    }

    /// Sets an integer socket option. The corresponding C function is `setsockopt(2)`.
    func setIntOption(level: CInt, name: CInt, value: CInt, call: StaticString) throws(SystemError) {
        var value = value
        let fd = descriptor
        _ = try retryingInterrupts(call) { setsockopt(fd, level, name, &value, socklen_t(MemoryLayout<CInt>.size)) }
    }
}

@available(*, unavailable)
extension Socket: Sendable {}

extension Socket {
    /// Accepts on a blocking listener after poll() said it is readable; the new socket is made blocking
    /// too, like the guide's. Returns nil if the connection went away in between.
    public func acceptBlocking() throws(SystemError) -> (socket: Socket, peer: SocketAddress)? {
        try setBlocking(false)
        defer { try? setBlocking(true) }
        guard let (socket, peer) = try accept() else { return nil }
        do {
            try socket.setBlocking(true)
        } catch {
            socket.close()
            throw error
        }
        return (socket, peer)
    }
}

extension Socket {
    /// A connected pair of non-blocking Unix stream sockets, for tests and in-process plumbing.
    /// The corresponding C function is `socketpair(2)`.
    public static func pair() throws(SystemError) -> (Socket, Socket) {
        var descriptors: [CInt] = [-1, -1]
        let type = CInt(SOCK_STREAM.rawValue) | CInt(SOCK_NONBLOCK.rawValue) | CInt(SOCK_CLOEXEC.rawValue)
        _ = try retryingInterrupts("socketpair") { socketpair(AF_UNIX, type, 0, &descriptors) }
        return (Socket(adopting: descriptors[0], family: AF_UNIX), Socket(adopting: descriptors[1], family: AF_UNIX))
    }
}
