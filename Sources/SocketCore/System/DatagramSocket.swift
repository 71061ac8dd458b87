// DatagramSocket.swift -- a UDP socket (SOCK_DGRAM): no connection, one recvfrom per datagram and one
// sendto per datagram, so message boundaries are kept and every datagram names its peer.
import Glibc

/// A non-blocking, close-on-exec UDP socket. Owns its descriptor; close it explicitly.
public final class DatagramSocket {
    /// The descriptor; -1 once closed.
    public private(set) var descriptor: CInt
    /// AF_INET or AF_INET6.
    public let family: CInt
    /// The peer `connect(to:)` fixed, named in the errors of receive and send (an ICMP port unreachable
    /// reads "recvfrom(127.0.0.1:9): Connection refused", as a TCP connect's error names its address).
    public private(set) var peer: SocketAddress?

    /// The largest UDP payload (65535 - 8 - 20): a buffer this size never truncates a datagram.
    public static let maximumPayload = 65507

    /// The corresponding C function is `socket(2)` with SOCK_DGRAM.
    public init(family: CInt) throws(SystemError) {
        let type = CInt(SOCK_DGRAM.rawValue) | CInt(SOCK_NONBLOCK.rawValue) | CInt(SOCK_CLOEXEC.rawValue)
        descriptor = try retryingInterrupts("socket") { Glibc.socket(family, type, 0) }
        self.family = family
    }

    deinit {
        assert(descriptor == -1, "leak of open DatagramSocket \(descriptor)")
    }

    /// A socket bound to `address` (port 0: the kernel picks one).
    public static func bound(to address: SocketAddress) throws(SystemError) -> DatagramSocket {
        let socket = try DatagramSocket(family: address.family)
        do {
            let fd = socket.descriptor
            _ = try address.withSockAddr { pointer, length throws(SystemError) in
                try retryingInterrupts("bind", detail: address.description) { Glibc.bind(fd, pointer, length) }
            }
        } catch {
            socket.close()
            throw error
        }
        return socket
    }

    /// Fixes the peer: datagrams from anyone else are not delivered, and an ICMP port unreachable becomes
    /// ECONNREFUSED on the next receive. The corresponding C function is `connect(2)` (no packet is sent).
    public func connect(to address: SocketAddress) throws(SystemError) {
        let fd = descriptor
        _ = try address.withSockAddr { pointer, length throws(SystemError) in
            try retryingInterrupts("connect", detail: address.description) { Glibc.connect(fd, pointer, length) }
        }
        peer = address
    }

    /// Closes the descriptor once. The corresponding C function is `close(2)`.
    public func close() {
        guard descriptor >= 0 else { return }
        let fd = descriptor
        descriptor = -1
        closeDescriptor(fd)
    }

    /// One datagram: its length (the whole datagram's, even if `buffer` was shorter: MSG_TRUNC) and its
    /// sender. The corresponding C function is `recvfrom(2)`.
    public func receive(
        into buffer: UnsafeMutableRawBufferPointer
    ) throws(SystemError) -> (
        length: Int, sender: SocketAddress
    )? {
        var storage = sockaddr_storage()
        var length = socklen_t(MemoryLayout<sockaddr_storage>.size)
        let fd = descriptor
        let peer = peer
        let result = try withUnsafeMutablePointer(to: &storage) { pointer throws(SystemError) -> IOResult<Int> in
            try pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { raw throws(SystemError) -> IOResult<Int> in
                try nonBlocking("recvfrom", detail: peer?.description ?? "") {
                    Glibc.recvfrom(
                        fd,
                        buffer.baseAddress,
                        buffer.count,
                        CInt(MSG_DONTWAIT) | CInt(MSG_TRUNC),
                        raw,
                        &length
                    )
                }
            }
        }
        guard case .processed(let count) = result else { return nil }
        return (count, SocketAddress(storage: storage, length: length))
    }

    /// Sends `bytes` as one datagram to `address`. The corresponding C function is `sendto(2)`.
    ///
    /// - Returns: False when the send buffer is full (the datagram was not sent).
    public func send(_ bytes: UnsafeRawBufferPointer, to address: SocketAddress) throws(SystemError) -> Bool {
        let fd = descriptor
        let result = try address.withSockAddr { pointer, length throws(SystemError) -> IOResult<Int> in
            try nonBlocking("sendto", detail: address.description) {
                Glibc.sendto(fd, bytes.baseAddress, bytes.count, CInt(MSG_DONTWAIT), pointer, length)
            }
        }
        guard case .processed = result else { return false }
        return true
    }

    /// Sends `bytes` as one datagram to the connected peer. The corresponding C function is `send(2)`.
    ///
    /// - Returns: False when the send buffer is full (the datagram was not sent).
    public func send(_ bytes: UnsafeRawBufferPointer) throws(SystemError) -> Bool {
        let fd = descriptor
        let peer = peer
        let result = try nonBlocking("send", detail: peer?.description ?? "") {
            Glibc.send(fd, bytes.baseAddress, bytes.count, CInt(MSG_DONTWAIT))
        }
        guard case .processed = result else { return false }
        return true
    }

    /// The sender of the next datagram, left in the queue; nil when none is waiting. The corresponding C
    /// function is `recvfrom(2)` with MSG_PEEK.
    public func peekSender() throws(SystemError) -> SocketAddress? {
        var storage = sockaddr_storage()
        var length = socklen_t(MemoryLayout<sockaddr_storage>.size)
        var byte: UInt8 = 0
        let fd = descriptor
        let peer = peer
        let result = try withUnsafeMutablePointer(to: &storage) { pointer throws(SystemError) -> IOResult<Int> in
            try pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { raw throws(SystemError) -> IOResult<Int> in
                try nonBlocking("recvfrom", detail: peer?.description ?? "") {
                    Glibc.recvfrom(fd, &byte, 1, CInt(MSG_DONTWAIT) | CInt(MSG_PEEK), raw, &length)
                }
            }
        }
        guard case .processed = result else { return nil }
        return SocketAddress(storage: storage, length: length)
    }

    /// Binds an unbound socket to `address` (`--source`). The corresponding C function is `bind(2)`.
    public func bind(to address: SocketAddress) throws(SystemError) {
        let fd = descriptor
        _ = try address.withSockAddr { pointer, length throws(SystemError) in
            try retryingInterrupts("bind", detail: address.description) { Glibc.bind(fd, pointer, length) }
        }
    }

    /// The local address (the real port after binding port 0). The corresponding C function is `getsockname(2)`.
    public func localAddress() throws(SystemError) -> SocketAddress {
        var storage = sockaddr_storage()
        var length = socklen_t(MemoryLayout<sockaddr_storage>.size)
        let fd = descriptor
        _ = try withUnsafeMutablePointer(to: &storage) { pointer throws(SystemError) -> CInt in
            try pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { raw throws(SystemError) -> CInt in
                try retryingInterrupts("getsockname") { getsockname(fd, raw, &length) }
            }
        }
        return SocketAddress(storage: storage, length: length)
    }
}

@available(*, unavailable)
extension DatagramSocket: Sendable {}
