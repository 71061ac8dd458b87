// ConnectionServer+Kinds.swift -- the two reactor servers: `serve multi` (multiconn-server.py) and
// `serve app` (app-server.py + libserver.py). Each is a ConnectionServer whose connections share one
// read buffer.

extension ConnectionServer {
    /// An echo server for any number of clients at once. Binds and listens; call `start()`, then run the
    /// reactor.
    public static func multi(
        reactor: Reactor,
        options: ServerOptions,
        echo: EchoOptions,
        log: EventLog
    )
        throws(SystemError) -> ConnectionServer
    {
        let readBuffer = ReadBuffer()
        return try ConnectionServer(reactor: reactor, options: options, log: log) { socket, peer, server in
            EchoConnection(socket: socket, peer: peer, server: server, readBuffer: readBuffer, options: echo)
        }
    }

    /// The application-protocol server: one request per connection, answered, then closed. Binds and
    /// listens; call `start()`, then run the reactor.
    public static func app(
        reactor: Reactor,
        options: ServerOptions,
        app: AppOptions,
        log: EventLog
    )
        throws(SystemError) -> ConnectionServer
    {
        let readBuffer = ReadBuffer()
        let budget = RequestBudget(limit: app.maxBufferedBytes)
        return try ConnectionServer(reactor: reactor, options: options, log: log) { socket, peer, server in
            AppConnection(
                socket: socket,
                peer: peer,
                server: server,
                readBuffer: readBuffer,
                budget: budget,
                options: app
            )
        }
    }
}
