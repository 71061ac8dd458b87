// ListeningSocket.swift -- the two recipes every socket here starts from, written once: a listener made the
// way every sockettool server wants it, and a client's non-blocking connect.

extension Socket {
    /// The listen backlog: at least SOMAXCONN; the kernel caps it at net.core.somaxconn. A short queue
    /// makes bursts of clients fail with refused connections (the bench README's pitfall).
    public static let defaultBacklog: CInt = 4096

    /// socket + SO_REUSEADDR (unless `reuseAddress` is false) (+ SO_RCVBUF) + bind + listen. At a Unix socket
    /// path, a stale socket file (nothing listening) is removed first, and the file bound is removed by
    /// `closeListener()` or at exit.
    ///
    /// - Parameters:
    ///   - address: Where to listen; port 0 lets the kernel pick (read it back with `localAddress()`).
    ///   - backlog: Pending-connection queue length.
    ///   - blocking: False for the reactor's servers, true for `serve echo`.
    ///   - receiveBufferSize: SO_RCVBUF, set before listen: accepted sockets inherit it, and the handshake
    ///     chooses the window scale from it (flood's receiver).
    ///   - reuseAddress: False leaves SO_REUSEADDR off (`--no-reuseaddr`): the guide's server, which a
    ///     connection of its own in TIME_WAIT keeps from binding again.
    /// - Throws: `SystemError` naming the call and address (EADDRINUSE, EACCES, EADDRNOTAVAIL, ...);
    ///   `UnixSocketPathError` when a server listens at the path already or a file that is not a socket is there.
    public static func listening(
        on address: SocketAddress,
        backlog: CInt = defaultBacklog,
        blocking: Bool = false,
        receiveBufferSize: Int? = nil,
        reuseAddress: Bool = true
    ) throws -> Socket {
        try UnixSocketFile.prepare(address)
        let socket = try Socket(family: address.family)
        do throws(SystemError) {
            // Lets a restarted server bind at once while old connections sit in TIME_WAIT.
            if reuseAddress && !address.isUnix { try socket.setReuseAddress(true) }
            // "::" should take IPv4 connections too, whatever net.ipv6.bindv6only says.
            if address.isIPv6 && address.isWildcard { try socket.setIPv6Only(false) }
            if let receiveBufferSize { try socket.setReceiveBufferSize(receiveBufferSize) }
            try socket.bind(to: address)
            UnixSocketFile.adopt(address)
            try socket.listen(backlog: backlog)
            if blocking { try socket.setBlocking(true) }
        } catch {
            socket.close()
            throw error
        }
        return socket
    }

    /// Closes a listening socket; a Unix socket's file goes with it if this process bound it.
    public func closeListener() {
        guard isOpen else { return }
        let local = family == AddressFamily.unix ? try? localAddress() : nil
        close()
        if let local { UnixSocketFile.remove(local) }
    }

    /// socket (+ SO_SNDBUF) (+ TCP_NODELAY) (+ bind to a source) + a non-blocking connect: the start of every
    /// client connection.
    ///
    /// - Parameters:
    ///   - source: The local address to bind first (`--source`); port 0 lets the kernel pick one at connect
    ///     time, as an unbound client would (IP_BIND_ADDRESS_NO_PORT), so many connections from one source
    ///     address do not run out of ports early.
    ///   - sendBufferSize: SO_SNDBUF, set before connect so the handshake already reflects it (flood's sender).
    ///   - noDelay: TCP_NODELAY; the guide's clients send small messages, and without it each waits for the
    ///     previous ACK. (Unix sockets have no Nagle; the option is skipped there.)
    /// - Returns: The socket, and whether it is already connected or the handshake is under way.
    /// - Throws: `SystemError` from socket, setsockopt, bind or connect (ECONNREFUSED, ENETUNREACH, ...).
    public static func connecting(
        to address: SocketAddress,
        source: SocketAddress? = nil,
        sendBufferSize: Int? = nil,
        noDelay: Bool = true
    ) throws(SystemError) -> (Socket, ConnectResult) {
        let socket = try Socket(family: address.family)
        do throws(SystemError) {
            if let sendBufferSize { try socket.setSendBufferSize(sendBufferSize) }
            if noDelay && !address.isUnix { try? socket.setNoDelay(true) }
            if let source {
                if source.port == 0 {
                    try? socket.setBindAddressNoPort(true)
                } else {
                    // A fixed source port may still hold a closed connection in TIME_WAIT.
                    try socket.setReuseAddress(true)
                }
                try socket.bind(to: source)
            }
            return (socket, try socket.connect(to: address))
        } catch {
            socket.close()
            throw error
        }
    }

    /// `connecting`, then a wait for the handshake of at most `timeout`: a connected socket for a client that
    /// waits in straight-line code.
    ///
    /// - Throws: `SystemError` from connect, or ETIMEDOUT when the handshake takes longer than `timeout`.
    public static func connected(
        to address: SocketAddress,
        timeout: Duration,
        sendBufferSize: Int? = nil,
        noDelay: Bool = true
    ) throws(SystemError) -> Socket {
        let (socket, result) = try connecting(to: address, sendBufferSize: sendBufferSize, noDelay: noDelay)
        do throws(SystemError) {
            if result == .inProgress {
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
