// NotifySocket.swift -- one datagram to the service manager's notification socket ($NOTIFY_SOCKET,
// sd_notify(3)), without libsystemd: an AF_UNIX datagram socket named by a path, or by a name in the
// abstract namespace when the variable starts with '@'.
//
// A socket per message, as libsystemd does: nothing stays open between messages, and a manager that
// re-created its socket (daemon-reexec) is found again by name. The socket is connected, so poll() can
// say when the manager's receive queue has room again.
import Glibc

/// Where $NOTIFY_SOCKET points.
public struct NotifySocketAddress: Sendable, Equatable, CustomStringConvertible {
    /// sun_path as the kernel wants it: the path's bytes, or a 0 byte and the abstract name.
    let pathBytes: [UInt8]
    /// The variable's text, for messages.
    public let description: String

    /// sun_path holds 108 bytes, the terminating NUL of a path included.
    static let pathCapacity = MemoryLayout<sockaddr_un>.size - MemoryLayout<sa_family_t>.size

    /// Parses $NOTIFY_SOCKET: an absolute path, or '@' and an abstract name.
    ///
    /// - Returns: nil for anything else (a relative path, a vsock address, a name too long for sun_path).
    public init?(_ text: String) {
        var bytes = Array(text.utf8)
        guard bytes.count >= 2, bytes[0] == UInt8(ascii: "/") || bytes[0] == UInt8(ascii: "@") else { return nil }
        if bytes[0] == UInt8(ascii: "@") {
            bytes[0] = 0
            guard bytes.count <= Self.pathCapacity else { return nil }
        } else {
            guard bytes.count < Self.pathCapacity, !bytes.contains(0) else { return nil }
        }
        pathBytes = bytes
        description = text
    }

    /// Calls `body` with the address as a `sockaddr_un`: a path's length counts its NUL, an abstract
    /// name's does not (unix(7)).
    fileprivate func withSockAddr<R>(
        _ body: (UnsafePointer<sockaddr>, socklen_t) throws(SystemError) -> R
    ) throws(SystemError) -> R {
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        let offset = MemoryLayout<sockaddr_un>.offset(of: \.sun_path)!
        withUnsafeMutableBytes(of: &address) { raw in
            for (index, byte) in pathBytes.enumerated() { raw[offset + index] = byte }
        }
        let isAbstract = pathBytes.first == 0
        let length = socklen_t(offset + pathBytes.count + (isAbstract ? 0 : 1))
        return try withUnsafePointer(to: &address) { pointer throws(SystemError) -> R in
            try pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { raw throws(SystemError) -> R in
                try body(raw, length)
            }
        }
    }
}

/// Sends notification datagrams.
public enum NotifySocket {
    /// Sends `message` as one datagram to `address`.
    ///
    /// - Parameter patience: How long to wait while the manager's queue is full; zero gives up at once (a
    ///   watchdog ping or status line is sent again soon anyway).
    /// - Throws: `SystemError` from socket, connect (ENOENT, ECONNREFUSED: no manager there) or send
    ///   (EAGAIN when the queue stayed full).
    /// The corresponding C functions are `socket(2)`, `connect(2)` and `send(2)`.
    public static func send(_ message: String, to address: NotifySocketAddress, patience: Duration) throws(SystemError)
    {
        let type = CInt(SOCK_DGRAM.rawValue) | CInt(SOCK_NONBLOCK.rawValue) | CInt(SOCK_CLOEXEC.rawValue)
        let fd = try retryingInterrupts("socket(AF_UNIX)") { socket(AF_UNIX, type, 0) }
        defer { closeDescriptor(fd) }
        let detail = address.description
        _ = try address.withSockAddr { pointer, length throws(SystemError) in
            try retryingInterrupts("connect", detail: detail) { connect(fd, pointer, length) }
        }
        let bytes = Array(message.utf8)
        let deadline = MonotonicClock.now() &+ patience.nanoseconds
        while true {
            let sent = try nonBlocking("send", detail: detail) {
                bytes.withUnsafeBytes { Glibc.send(fd, $0.baseAddress, $0.count, CInt(MSG_NOSIGNAL)) }
            }
            if case .processed = sent { return }
            guard waitForRoom(fd, until: deadline) else {
                throw SystemError(errno: .wouldBlock, call: "send", detail: detail)
            }
        }
    }

    /// Waits until the connected datagram socket may send (the peer's queue has room) or `deadline` passes.
    private static func waitForRoom(_ fd: CInt, until deadline: UInt64) -> Bool {
        var entry = pollfd(fd: fd, events: Int16(POLLOUT), revents: 0)
        while true {
            let now = MonotonicClock.now()
            guard now < deadline else { return false }
            let ready = poll(&entry, 1, CInt(clamping: (deadline - now + 999_999) / 1_000_000))
            if ready > 0 { return true }
            if ready < 0 && errno != EINTR { return false }
        }
    }
}
