// ListeningSocket.swift -- a bound, listening TCP socket made the way every sockettool server wants it.
import Glibc

extension Socket {
    /// The listen backlog: at least SOMAXCONN; the kernel caps it at net.core.somaxconn. A short queue
    /// makes bursts of clients fail with refused connections (the bench README's pitfall).
    public static let defaultBacklog: CInt = 4096

    /// socket + SO_REUSEADDR + bind + listen.
    ///
    /// - Parameters:
    ///   - address: Where to listen; port 0 lets the kernel pick (read it back with `localAddress()`).
    ///   - backlog: Pending-connection queue length.
    ///   - blocking: False for the reactor's servers, true for `serve echo`.
    /// - Throws: `SystemError` naming the call and address (EADDRINUSE, EACCES, EADDRNOTAVAIL, ...).
    public static func listening(
        on address: SocketAddress,
        backlog: CInt = defaultBacklog,
        blocking: Bool = false
    ) throws(SystemError) -> Socket {
        let socket = try Socket(family: address.family)
        do throws(SystemError) {
            // Lets a restarted server bind at once while old connections sit in TIME_WAIT.
            try socket.setReuseAddress(true)
            // "::" should take IPv4 connections too, whatever net.ipv6.bindv6only says.
            if address.isIPv6 && address.isWildcard { try socket.setIPv6Only(false) }
            try socket.bind(to: address)
            try socket.listen(backlog: backlog)
            if blocking { try socket.setBlocking(true) }
        } catch {
            socket.close()
            throw error
        }
        return socket
    }

    /// socket + connect for a blocking client (`connect` in its simplest form), bounded by `timeout`.
    ///
    /// - Throws: `SystemError` from connect, or ETIMEDOUT when the handshake takes longer than `timeout`.
    public static func connected(to address: SocketAddress, timeout: Duration) throws(SystemError) -> Socket {
        let socket = try Socket(family: address.family)
        do throws(SystemError) {
            if try socket.connect(to: address) == .inProgress {
                guard try socket.wait(for: .writable, timeout: timeout) == .ready else {
                    throw SystemError(errno: .timedOut, call: "connect", detail: address.description)
                }
                try socket.finishConnect(to: address)
            }
        } catch {
            socket.close()
            throw error
        }
        return socket
    }
}
