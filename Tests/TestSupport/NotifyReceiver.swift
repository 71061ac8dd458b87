// NotifyReceiver.swift -- the service manager's side of sd_notify(3) for tests: an AF_UNIX datagram socket
// in a temporary directory (or the abstract namespace) whose messages a test reads with a deadline.
import Foundation
import Glibc

/// A bound datagram socket standing in for systemd's notification socket.
public final class NotifyReceiver: @unchecked Sendable {
    // @unchecked: a test uses its receiver from one task at a time.

    /// What NOTIFY_SOCKET must say: the path, or "@name" for the abstract namespace.
    public let address: String
    private let descriptor: CInt
    private let directory: String?

    /// Binds a fresh socket: `notify.sock` in a new temporary directory, or a random abstract name.
    public init(abstract: Bool = false) throws {
        descriptor = socket(
            AF_UNIX,
            CInt(SOCK_DGRAM.rawValue) | CInt(SOCK_CLOEXEC.rawValue) | CInt(SOCK_NONBLOCK.rawValue),
            0
        )
        guard descriptor >= 0 else { throw POSIXError(.init(rawValue: errno) ?? .EIO) }
        var path: [UInt8]
        if abstract {
            let name = "sockettool-test-\(getpid())-\(UInt64.random(in: 0...UInt64.max))"
            address = "@" + name
            directory = nil
            path = [0] + Array(name.utf8)
        } else {
            let made = FileManager.default.temporaryDirectory.appendingPathComponent(
                "sockettool-notify-\(getpid())-\(UInt64.random(in: 0...UInt64.max))"
            )
            try FileManager.default.createDirectory(at: made, withIntermediateDirectories: false)
            directory = made.path
            address = made.appendingPathComponent("notify.sock").path
            path = Array(address.utf8)
        }
        var raw = sockaddr_un()
        raw.sun_family = sa_family_t(AF_UNIX)
        let offset = MemoryLayout<sockaddr_un>.offset(of: \.sun_path)!
        withUnsafeMutableBytes(of: &raw) { bytes in
            for (index, byte) in path.enumerated() { bytes[offset + index] = byte }
        }
        let length = socklen_t(offset + path.count + (abstract ? 0 : 1))
        let bound = withUnsafePointer(to: &raw) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(descriptor, $0, length) }
        }
        guard bound == 0 else {
            let code = errno
            close(descriptor)
            throw POSIXError(.init(rawValue: code) ?? .EIO)
        }
    }

    deinit {
        close(descriptor)
        if let directory { try? FileManager.default.removeItem(atPath: directory) }
    }

    /// The next datagram, waiting at most `timeout`; nil when none came.
    public func receive(timeout: Duration) -> String? {
        let deadline = ContinuousClock.now + timeout
        var buffer = [UInt8](repeating: 0, count: 4096)
        while true {
            let count = buffer.withUnsafeMutableBytes { recv(descriptor, $0.baseAddress, $0.count, 0) }
            if count >= 0 { return String(decoding: buffer[0..<count], as: UTF8.self) }
            guard errno == EAGAIN || errno == EINTR else { return nil }
            let remaining = deadline - ContinuousClock.now
            guard remaining > .zero else { return nil }
            var entry = pollfd(fd: descriptor, events: Int16(POLLIN), revents: 0)
            let (seconds, attoseconds) = remaining.components
            _ = poll(&entry, 1, CInt(clamping: seconds * 1000 + attoseconds / 1_000_000_000_000_000 + 1))
        }
    }

    /// Datagrams until one satisfies `predicate` (returned) or `timeout` passes (nil); `seen` gets every one.
    public func receive(
        until predicate: (String) -> Bool,
        timeout: Duration,
        seen: inout [String]
    ) -> String? {
        let deadline = ContinuousClock.now + timeout
        while let message = receive(timeout: deadline - ContinuousClock.now) {
            seen.append(message)
            if predicate(message) { return message }
        }
        return nil
    }

    /// Fills the receive queue from a socket of the test's own until the kernel refuses more, so that the
    /// next sender must wait for the test to read.
    ///
    /// - Returns: How many filler datagrams were queued (read them back with `receive`).
    public func fill() throws -> Int {
        let sender = socket(
            AF_UNIX,
            CInt(SOCK_DGRAM.rawValue) | CInt(SOCK_CLOEXEC.rawValue) | CInt(SOCK_NONBLOCK.rawValue),
            0
        )
        guard sender >= 0 else { throw POSIXError(.init(rawValue: errno) ?? .EIO) }
        defer { close(sender) }
        var local = sockaddr_un()
        var length = socklen_t(MemoryLayout<sockaddr_un>.size)
        _ = withUnsafeMutablePointer(to: &local) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(descriptor, $0, &length) }
        }
        let connected = withUnsafePointer(to: &local) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(sender, $0, length) }
        }
        guard connected == 0 else { throw POSIXError(.init(rawValue: errno) ?? .EIO) }
        var count = 0
        let filler = Array("FILLER=1".utf8)
        while count < 100_000 {
            let sent = filler.withUnsafeBytes { send(sender, $0.baseAddress, $0.count, 0) }
            if sent < 0 {
                guard errno == EAGAIN else { throw POSIXError(.init(rawValue: errno) ?? .EIO) }
                return count
            }
            count += 1
        }
        return count
    }
}
