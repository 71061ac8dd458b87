// ConnectionServer.swift -- what `serve multi` and `serve app` share: the listener, the table of open
// connections, the connection cap, and a graceful shutdown.

/// A connection a `ConnectionServer` owns. The server keeps it until it calls `connectionClosed`.
public protocol ServedConnection: SocketHandler {
    /// The connection's descriptor, its key in the server's table.
    var descriptor: CInt { get }
    /// Registers with the reactor and starts serving.
    func start(in reactor: Reactor)
    /// Its deadline from `ConnectionServer.setDeadline(for:after:)` passed.
    func deadlinePassed(in reactor: Reactor)
    /// Shutdown: stop taking new work, finish what is in flight, then close.
    func finishForShutdown(in reactor: Reactor)
    /// Closes at once (the grace period is over).
    func closeNow(in reactor: Reactor)
}

/// Settings every reactor server shares.
public struct ServerOptions: Sendable {
    /// Where to listen.
    public var address: SocketAddress
    /// Most connections open at once; further clients wait in the listen queue.
    public var maxConnections: Int
    /// Listen backlog.
    public var backlog: CInt
    /// How long shutdown waits for responses in flight.
    public var grace: Duration
    /// SO_REUSEADDR on the listener (false: `--no-reuseaddr`).
    public var reuseAddress = true

    /// - Parameter loops: The server's event loops (`--workers`): the default cap leaves room for the
    ///   descriptors the loops after the first hold.
    public init(
        address: SocketAddress,
        maxConnections: Int? = nil,
        backlog: CInt = Socket.defaultBacklog,
        grace: Duration = .seconds(5),
        loops: Int = 1
    ) {
        self.address = address
        self.maxConnections = maxConnections ?? ServerOptions.defaultMaxConnections(loops: loops)
        self.backlog = backlog
        self.grace = grace
    }

    /// Most descriptors kept back from the cap, for logs, a client of the server's own, and the margin
    /// that lets the listener's spare-descriptor trick work.
    public static let descriptorReserve = 32

    /// The descriptor limit (raised to the hard limit at start) minus the descriptors already open
    /// (stdio, the loop's pipes, the listener, the spare) and a reserve of up to 32 (a quarter of a small
    /// limit), so that a default server reaches its cap before the kernel says EMFILE. With `loops` above 1,
    /// also what the other loops will hold (`ServerWorkers.descriptorsPerLoop` each).
    public static func defaultMaxConnections(loops: Int = 1) -> Int {
        let limit = DescriptorLimit.current()
        let reserve = min(descriptorReserve, limit / 4)
        let otherLoops =
            loops > 1 ? (loops - 1) * ServerWorkers.descriptorsPerLoop + ServerWorkers.sharedDescriptors : 0
        return max(1, limit - max(DescriptorLimit.openCount(), 0) - 4 - reserve - otherLoops)
    }
}

/// A listener plus the connections it accepted.
public final class ConnectionServer {
    public let reactor: Reactor
    public let listener: Listener
    public let log: EventLog
    public let options: ServerOptions
    /// Indexed by descriptor.
    private var connections: [ServedConnection?] = []
    /// The accept serial of the connection at each descriptor, so a stale deadline entry cannot reach a
    /// later connection that got the same descriptor number.
    private var serials: [UInt64] = []
    private var deadlines = DeadlineQueue()
    private var deadlineTimer: ReactorTimer?
    private var memoryReturnTimer: ReactorTimer?
    /// What this server has done; its loop writes it, any thread may read it.
    public let stats: ServerStats
    /// When `start()` ran (`MonotonicClock` nanoseconds), for the stats' uptime.
    public private(set) var startedAt: UInt64 = 0
    /// True for servers that answer requests (`serve app`): the stats line counts them.
    public var countsRequests = false
    /// Connections open now.
    public var openConnectionCount: Int { stats.openConnections }
    /// Connections accepted since start.
    public var acceptedCount: Int { stats.snapshot().accepted }
    /// The serial of the latest connection accepted.
    private var lastSerial: UInt64 = 0
    /// True once shutdown began.
    public private(set) var isShuttingDown = false
    /// What this loop shares with the other loops of a `--workers` server; nil for one loop.
    let sharing: ServerSharing?
    private let makeConnection: (Socket, SocketAddress, ConnectionServer) -> ServedConnection

    /// Binds and listens, or takes a listening socket the service manager passed (not yet accepting: call
    /// `start()`).
    ///
    /// - Parameters:
    ///   - listeningSocket: A socket already listening (socket activation, or another loop's copy); nil
    ///     binds `options.address`. The server owns it from here on.
    ///   - sharing: The cap and budgets this loop shares with the other loops of a `--workers` server.
    ///   - stats: The counters, when the connections count into them too.
    /// - Throws: `SystemError` from socket/bind/listen.
    public init(
        reactor: Reactor,
        options: ServerOptions,
        log: EventLog,
        listeningSocket: Socket? = nil,
        sharing: ServerSharing? = nil,
        stats: ServerStats = ServerStats(),
        makeConnection: @escaping (Socket, SocketAddress, ConnectionServer) -> ServedConnection
    ) throws {
        self.reactor = reactor
        self.options = options
        self.log = log
        self.sharing = sharing
        self.stats = stats
        self.makeConnection = makeConnection
        let socket: Socket
        if let listeningSocket {
            socket = listeningSocket
        } else {
            socket = try Socket.listening(
                on: options.address,
                backlog: options.backlog,
                reuseAddress: options.reuseAddress
            )
        }
        // Accepted sockets inherit TCP_NODELAY from their listener (Linux clones the listener's socket), so
        // this one call stands for one per connection. Unix sockets have no Nagle.
        if socket.family != AddressFamily.unix { try? socket.setNoDelay(true) }
        do {
            listener = try Listener(socket: socket, log: log)
        } catch {
            socket.close()
            throw error
        }
    }

    /// Where the server listens (with the real port when 0 was asked).
    public var address: SocketAddress { listener.address }

    /// Prints the listening line and starts accepting.
    public func start() throws(SystemError) {
        try startAccepting()
        log.listening(on: address, backend: reactor.kind)
    }

    /// Starts accepting without the listening line (the loops of `--workers` after the first).
    func startAccepting() throws(SystemError) {
        listener.onAccept = { [unowned self] socket, peer, reactor in self.accepted(socket, peer, in: reactor) }
        // Asked before every accept: the counters and the cap, not the server, so no unowned reference to check.
        listener.hasRoom = { [stats, cap = options.maxConnections] in stats.openConnections < cap }
        listener.maxConnections = { [unowned self] in self.options.maxConnections }
        listener.stats = stats
        if let sharing {
            listener.slots = sharing.slots
            listener.exhaustionWarnings = sharing.exhaustionWarnings
            listener.capWarnings = sharing.capWarnings
            // Woken when another loop gives a slot back while this one is paused at the cap.
            let wakeUp = try ReactorWakeUp()
            try reactor.attach(wakeUp) { [weak self] reactor in
                guard let self, !self.isShuttingDown else { return }
                self.listener.connectionClosed(in: reactor)
            }
            sharing.slots.add(wakeUp)
            try reactor.registerShared(listener.socket, interest: .readable, handler: listener)
        } else {
            try reactor.register(listener.socket, interest: .readable, handler: listener)
        }
        reactor.addBeforeSleepHook { [unowned self] in self.log.flush() }
        startedAt = MonotonicClock.now()
    }

    /// The stats line's content now.
    public func statsReport() -> ServerStatsReport {
        ServerStatsReport(
            counters: stats.snapshot(),
            uptime: MonotonicClock.now() &- startedAt,
            countsRequests: countsRequests
        )
    }

    private func accepted(_ socket: Socket, _ peer: SocketAddress, in reactor: Reactor) {
        let connection = makeConnection(socket, peer, self)
        let fd = Int(connection.descriptor)
        if fd >= connections.count {
            connections.append(contentsOf: repeatElement(nil, count: fd + 1 - connections.count + 64))
            serials.append(contentsOf: repeatElement(0, count: connections.count - serials.count))
        }
        connections[fd] = connection
        stats.connectionOpened()
        lastSerial += 1
        serials[fd] = lastSerial
        connection.start(in: reactor)
    }

    /// Calls the connection's `deadlinePassed` after `delay` nanoseconds, unless it closed first. Every caller
    /// must use the same delay (the request timeout), which keeps the queue in deadline order; one reactor
    /// timer serves all of them.
    func setDeadline(for connection: ServedConnection, afterNanoseconds delay: UInt64) {
        let fd = connection.descriptor
        let entry = DeadlineQueue.Entry(
            deadline: reactor.now &+ delay,
            descriptor: fd,
            serial: serials[Int(fd)]
        )
        deadlines.append(entry)
        if deadlineTimer == nil { armDeadlineTimer() }
    }

    private func armDeadlineTimer() {
        guard let next = deadlines.nextDeadline else { return }
        deadlineTimer = reactor.schedule(atNanoseconds: next) { [unowned self] reactor in
            self.deadlineTimer = nil
            while let entry = self.deadlines.popExpired(now: reactor.now) {
                let fd = Int(entry.descriptor)
                guard self.serials[fd] == entry.serial, let connection = self.connections[fd] else { continue }
                connection.deadlinePassed(in: reactor)
            }
            self.armDeadlineTimer()
        }
    }

    /// A connection calls this once, after deregistering and closing its socket.
    public func connectionClosed(_ connection: ServedConnection, descriptor: CInt) {
        let fd = Int(descriptor)
        precondition(
            fd < connections.count && connections[fd] === connection,
            "connectionClosed for an unknown connection"
        )
        connections[fd] = nil
        stats.connectionClosed()
        sharing?.slots.give()
        if isShuttingDown {
            if openConnectionCount == 0 { reactor.stop() }
        } else {
            listener.connectionClosed(in: reactor)
            if openConnectionCount == 0 { scheduleMemoryReturn() }
        }
    }

    /// A second after the server last became idle (at most once a second, so a server answering one
    /// client at a time does not pay for it per request), the free heap goes back to the system.
    private func scheduleMemoryReturn() {
        guard memoryReturnTimer == nil else { return }
        memoryReturnTimer = reactor.schedule(after: .seconds(1)) { [unowned self] _ in
            self.memoryReturnTimer = nil
            if self.openConnectionCount == 0 { returnFreeMemory() }
        }
    }

    /// Stops accepting at once; connections finish what is in flight; after `options.grace` the rest are
    /// closed. The reactor stops when the last connection is gone.
    public func beginShutdown() {
        guard !isShuttingDown else { return }
        isShuttingDown = true
        listener.close(in: reactor)
        for connection in connections.compactMap({ $0 }) { connection.finishForShutdown(in: reactor) }
        if openConnectionCount == 0 {
            reactor.stop()
            return
        }
        reactor.schedule(after: options.grace) { [unowned self] reactor in
            let unfinished = self.connections.compactMap { $0 }
            let seconds = NumberFormat.fixed(Double(self.options.grace.nanoseconds) / 1e9, decimals: 1)
            // Say why these clients lose their exchange; each "Closing connection" line follows.
            self.log.event(
                "grace_over",
                level: .quiet,
                text: "Grace period of \(seconds) s over: closing \(unfinished.count) unfinished connection"
                    + (unfinished.count == 1 ? "" : "s"),
                fields: [("connections", .int(unfinished.count))]
            )
            for connection in unfinished { connection.closeNow(in: reactor) }
            reactor.stop()
        }
    }

    /// Closes the listener and every connection at once (after `run()` returned).
    public func closeAll() {
        if listener.socket.isOpen { listener.close(in: reactor) }
        for connection in connections.compactMap({ $0 }) { connection.closeNow(in: reactor) }
    }
}

@available(*, unavailable)
extension ConnectionServer: Sendable {}
