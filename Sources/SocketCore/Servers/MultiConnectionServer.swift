// MultiConnectionServer.swift -- `serve multi`: the guide's multiconn-server.py on the reactor.

/// An echo server for any number of clients at once.
public final class MultiConnectionServer {
    public let server: ConnectionServer
    private let readBuffer = ReadBuffer()

    /// Binds and listens; call `start()` then run the reactor.
    public init(reactor: Reactor, options: ServerOptions, echo: EchoOptions, log: EventLog) throws(SystemError) {
        let readBuffer = self.readBuffer
        server = try ConnectionServer(reactor: reactor, options: options, log: log) { socket, peer, server in
            EchoConnection(socket: socket, peer: peer, server: server, readBuffer: readBuffer, options: echo)
        }
    }

    public func start() throws(SystemError) { try server.start() }
}

@available(*, unavailable)
extension MultiConnectionServer: Sendable {}
