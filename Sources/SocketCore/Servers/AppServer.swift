// AppServer.swift -- `serve app`: the guide's app-server.py + libserver.py on the reactor.

/// The application-protocol server: one request per connection, answered, then closed.
public final class AppServer {
    public let server: ConnectionServer
    private let readBuffer = ReadBuffer()

    /// Binds and listens; call `start()` then run the reactor.
    public init(reactor: Reactor, options: ServerOptions, app: AppOptions, log: EventLog) throws(SystemError) {
        let readBuffer = self.readBuffer
        server = try ConnectionServer(reactor: reactor, options: options, log: log) { socket, peer, server in
            AppConnection(socket: socket, peer: peer, server: server, readBuffer: readBuffer, options: app)
        }
    }

    public func start() throws(SystemError) { try server.start() }
}

@available(*, unavailable)
extension AppServer: Sendable {}
