// ConnectionServer+Kinds.swift -- the reactor servers: `serve multi` (multiconn-server.py), `serve app`
// (app-server.py + libserver.py) and `serve discard` (RFC 863). Each is a ConnectionServer whose connections
// share one read buffer.

extension ConnectionServer {
    /// An echo server for any number of clients at once. Binds and listens (or takes `listeningSocket`);
    /// call `start()`, then run the reactor.
    public static func multi(
        reactor: Reactor,
        options: ServerOptions,
        echo: EchoOptions,
        log: EventLog,
        listeningSocket: Socket? = nil,
        sharing: ServerSharing? = nil
    )
        throws -> ConnectionServer
    {
        let readBuffer = ReadBuffer()
        return try ConnectionServer(
            reactor: reactor,
            options: options,
            log: log,
            listeningSocket: listeningSocket,
            sharing: sharing
        ) { socket, peer, server in
            EchoConnection(socket: socket, peer: peer, server: server, readBuffer: readBuffer, options: echo)
        }
    }

    /// The application-protocol server: one request per connection, answered, then closed. Binds and
    /// listens (or takes `listeningSocket`); call `start()`, then run the reactor. With `sharing` (made with
    /// `app`), the request budget and the request threads are those of every loop.
    public static func app(
        reactor: Reactor,
        options: ServerOptions,
        app: AppOptions,
        log: EventLog,
        listeningSocket: Socket? = nil,
        sharing: ServerSharing? = nil
    )
        throws -> ConnectionServer
    {
        let readBuffer = ReadBuffer()
        let budget: RequestBudget
        let workers: RequestWorkers
        if let sharing, let shared = sharing.requestBytes, let pool = sharing.requestPool {
            budget = RequestBudget(shared: shared)
            workers = try RequestWorkers(reactor: reactor, pool: pool)
        } else {
            budget = RequestBudget(limit: app.maxBufferedBytes)
            workers = try RequestWorkers(
                reactor: reactor,
                threadCount: app.workerThreads,
                beforeEachJob: app.beforeEachWorkerJob
            )
        }
        let stats = ServerStats()
        let loop = AppLoopContext(
            log: log,
            stats: stats,
            readBuffer: readBuffer,
            budget: budget,
            workers: workers,
            options: app
        )
        let server = try ConnectionServer(
            reactor: reactor,
            options: options,
            log: log,
            listeningSocket: listeningSocket,
            sharing: sharing,
            stats: stats
        ) { socket, peer, server in
            AppConnection(socket: socket, peer: peer, server: server, loop: loop)
        }
        server.countsRequests = true
        return server
    }

    /// The discard server (RFC 863): every connection is read to its end and the bytes dropped, counted
    /// for the receiver's line at close. Binds and listens (or takes `listeningSocket`); call `start()`, then
    /// run the reactor.
    public static func discard(
        reactor: Reactor,
        options: ServerOptions,
        discard: DiscardOptions,
        log: EventLog,
        listeningSocket: Socket? = nil
    )
        throws -> ConnectionServer
    {
        let readBuffer = ReadBuffer(size: DiscardOptions.readSize)
        return try ConnectionServer(
            reactor: reactor,
            options: options,
            log: log,
            listeningSocket: listeningSocket
        ) { socket, peer, server in
            DiscardConnection(socket: socket, peer: peer, server: server, readBuffer: readBuffer, options: discard)
        }
    }
}
