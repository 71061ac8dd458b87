// Dialer.swift -- a connected socket for a program that runs it without an exchange (the netcat relay,
// flood's sender): the same dial as every client's (every address, Happy Eyeballs, --source, --unix), on a
// reactor of its own, and the socket handed over once it connects.

/// Connects and hands the socket over.
public enum Dialer {
    /// Dials `target` with `options` (the connect timeout per address, the attempt delay, SO_SNDBUF,
    /// TCP_NODELAY) and returns the connected socket, registered nowhere.
    ///
    /// - Returns: The socket, and the address that answered.
    /// - Throws: `ClientFailure` with the last address's error (refused, timed out, unreachable, ...).
    public static func connect(
        to target: DialTarget,
        options: ClientOptions
    ) throws -> (Socket, SocketAddress) {
        // poll: the same backend whatever the descriptor (epoll refuses regular files; this loop is short).
        let reactor = try Reactor(kind: .poll)
        let handOff = HandOff(reactor: reactor, options: options)
        handOff.connection.open(target)
        try reactor.run()
        if let socket = handOff.socket, let address = handOff.address { return (socket, address) }
        throw handOff.failure ?? ClientFailure(SystemError(errno: .connectionRefused, call: "connect"))
    }
}

/// An exchange that only wants the connected socket.
private final class HandOff: ClientExchange {
    private let reactor: Reactor
    private let options: ClientOptions
    lazy var connection = ClientConnection(reactor: reactor, options: options, exchange: self)
    var socket: Socket?
    var address: SocketAddress?
    var failure: ClientFailure?

    init(reactor: Reactor, options: ClientOptions) {
        self.reactor = reactor
        self.options = options
    }

    var awaiting: String { "the handshake" }

    func connected(_ connection: ClientConnection, in reactor: Reactor) throws(ClientFailure) {
        address = connection.address
        socket = connection.takeSocket()
    }

    func readable(_ connection: ClientConnection, in reactor: Reactor) throws(ClientFailure) {}
    func writable(_ connection: ClientConnection, in reactor: Reactor) throws(ClientFailure) {}

    func finished(_ connection: ClientConnection, failure: ClientFailure?, in reactor: Reactor) {
        self.failure = failure
    }
}
