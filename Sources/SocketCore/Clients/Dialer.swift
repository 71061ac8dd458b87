// Dialer.swift -- connecting a client: each resolved address in turn, each attempt bounded in time.

/// Settings every client shares.
public struct ClientOptions: Sendable {
    /// Longest wait for a TCP handshake.
    public var connectTimeout: Duration
    /// Longest wait for the peer's next bytes (or for room to send).
    public var timeout: Duration

    public init(connectTimeout: Duration = .seconds(5), timeout: Duration = .seconds(10)) {
        self.connectTimeout = connectTimeout
        self.timeout = timeout
    }
}

/// Opens connections for the clients.
public enum Dialer {
    /// Connects a blocking-style client (non-blocking socket, waits through poll), trying each address
    /// until one answers. A refusal or unreachable network on one address moves on to the next, as for
    /// "localhost", which is ::1 and 127.0.0.1.
    ///
    /// - Parameters:
    ///   - sendBufferSize: SO_SNDBUF before connect (flood's sender).
    ///   - noDelay: TCP_NODELAY (every client but flood's sender, which wants full segments).
    /// - Throws: The last address's error (ECONNREFUSED, ETIMEDOUT, ...).
    public static func connect(
        to addresses: [SocketAddress],
        timeout: Duration,
        sendBufferSize: Int? = nil,
        noDelay: Bool = true
    ) throws(SystemError) -> (Socket, SocketAddress) {
        precondition(!addresses.isEmpty)
        var lastError = SystemError(errno: .connectionRefused, call: "connect")
        for address in addresses {
            do {
                let socket = try Socket.connected(
                    to: address,
                    timeout: timeout,
                    sendBufferSize: sendBufferSize,
                    noDelay: noDelay
                )
                return (socket, address)
            } catch {
                lastError = error
            }
        }
        throw lastError
    }

    /// Starts a non-blocking connect for a reactor client.
    ///
    /// - Returns: The socket, and whether it is already connected.
    public static func start(to address: SocketAddress) throws(SystemError) -> (Socket, ConnectResult) {
        try Socket.connecting(to: address)
    }
}
