// Ports.swift -- ports a test can name without racing the other tests: one that stays closed, one held for
// servers the test starts, and one an unprivileged process may not bind. Never a fixed number.
import Foundation
import Glibc
import SocketCore

/// A loopback port that refuses connections for as long as this object lives: bound, never listening, so
/// a SYN to it is answered with a reset and no other socket can bind it meanwhile. Keep it alive for the
/// whole test (`withExtendedLifetime`, or use it after the last run), or the port may open again.
final class ClosedPort {
    let host: String
    let port: UInt16
    private let socket: Socket

    init(host: String = "127.0.0.1") throws {
        (socket, port) = try boundSocket(host: host, reuseAddress: false)
        self.host = host
    }

    deinit {
        socket.close()
    }
}

/// A loopback port held for this object's life, on which the test starts servers, one after another
/// (a restart on the same port). Bound with SO_REUSEADDR and never listening: a sockettool server, which
/// sets SO_REUSEADDR too, may bind and listen on it; while one listens nothing else can, and between two
/// servers no other test and no ephemeral port allocation can take the number.
final class HeldPort {
    let port: UInt16
    private let socket: Socket

    init(host: String = "127.0.0.1") throws {
        (socket, port) = try boundSocket(host: host, reuseAddress: true)
    }

    deinit {
        socket.close()
    }
}

/// A port below net.ipv4.ip_unprivileged_port_start, for EACCES. The kernel checks the privilege before
/// it looks whether the port is taken, so an unprivileged bind fails with EACCES whether or not something
/// listens there: no test can race another for it.
enum PrivilegedPort {
    /// The highest privileged port, or nil when this machine lets anyone bind every port.
    static var number: UInt16? {
        let start = unprivilegedPortStart
        return start > 1 ? UInt16(min(start, 1024) - 1) : nil
    }

    /// /proc/sys/net/ipv4/ip_unprivileged_port_start: the lowest port anyone may bind (1024 by default).
    static var unprivilegedPortStart: Int {
        let text = try? String(contentsOfFile: "/proc/sys/net/ipv4/ip_unprivileged_port_start", encoding: .utf8)
        return text.flatMap { Int($0.trimmingCharacters(in: .whitespacesAndNewlines)) } ?? 1024
    }
}

/// A TCP socket bound to `host` and a port the kernel picks, never listening; and that port.
private func boundSocket(host: String, reuseAddress: Bool) throws -> (Socket, UInt16) {
    guard let address = SocketAddress(ipv4: host, port: 0) ?? SocketAddress(ipv6: host, port: 0) else {
        throw LoopbackFailure("not a numeric address: \(host)")
    }
    let socket = try Socket(family: address.family)
    do {
        if reuseAddress { try socket.setReuseAddress(true) }
        try socket.bind(to: address)
        return (socket, try socket.localAddress().port)
    } catch {
        socket.close()
        throw error
    }
}
