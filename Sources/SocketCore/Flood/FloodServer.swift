// FloodServer.swift -- `flood serve`: the guide's app-server-test.py. Accepts connections and never reads
// them (or reads at `--drain` RATE), and shows each connection's Recv-Q as the sender fills it.
//
// Runs on the reactor: the listener is the only registered descriptor; the connections are never read, so
// they are not registered at all, and a timer reads their queues while any is open. An idle server sleeps.

/// Settings for `flood serve`.
public struct FloodServeOptions: Sendable {
    /// SO_RCVBUF set on the listener before listen(); accepted sockets inherit it.
    public var receiveBufferSize: Int?
    /// Bytes per second each connection is read at; nil never reads.
    public var drainRate: Int?
    /// Stop after this long; nil runs until SIGINT/SIGTERM.
    public var duration: Duration?
    /// How often the queues are read.
    public var tickInterval: Duration
    /// Listen backlog.
    public var backlog: CInt
    /// Connections held at once; more wait in the listen queue. The experiment needs one or a few, and each
    /// costs a descriptor, a queue read per tick and, with a drain rate, a 256 KiB read buffer.
    public var maxConnections: Int
    /// A connection where no byte arrived or was read for this long is closed; nil: never. A sender that
    /// closes while its bytes wait unread sends its FIN after them, so the FIN never arrives: without this,
    /// such connections would hold a place under `maxConnections` for as long as the kernel keeps the
    /// sender's orphaned socket probing the zero window.
    public var idleTimeout: Duration?

    public init(
        receiveBufferSize: Int? = nil,
        drainRate: Int? = nil,
        duration: Duration? = nil,
        tickInterval: Duration = .milliseconds(50),
        backlog: CInt = Socket.defaultBacklog,
        maxConnections: Int = 64,
        idleTimeout: Duration? = .seconds(300)
    ) {
        self.receiveBufferSize = receiveBufferSize
        self.drainRate = drainRate
        self.duration = duration
        self.tickInterval = tickInterval
        self.backlog = backlog
        self.maxConnections = maxConnections
        self.idleTimeout = idleTimeout
    }
}

/// One accepted connection that is never read (or read slowly).
final class FloodConnection {
    let socket: Socket
    /// `host:port` of the sender.
    let peer: SocketAddress
    /// The slow reader, with `--drain`.
    let drain: FloodDrain?
    /// SO_RCVBUF in effect.
    let receiveBuffer: Int
    /// Recv-Q at the last tick.
    var receiveQueue = 0
    /// The largest Recv-Q seen.
    var peakReceiveQueue = 0
    /// The Recv-Q last printed, and when (MonotonicClock).
    var printed: (queue: Int, at: UInt64)?
    /// When a byte last arrived or was read (MonotonicClock), for the idle deadline.
    var lastTraffic: UInt64
    /// Bytes the slow reader had read at the last tick.
    var drainedAtLastTick = 0

    init(socket: Socket, peer: SocketAddress, drainRate: Int?, now: UInt64) {
        self.socket = socket
        self.peer = peer
        drain = drainRate.map { FloodDrain(socket: socket, rate: $0, now: now) }
        receiveBuffer = (try? socket.receiveBufferSize()) ?? 0
        lastTraffic = now
    }
}

@available(*, unavailable)
extension FloodConnection: Sendable {}

/// The receiver that never reads.
public final class FloodServer {
    public let reactor: Reactor
    /// Where it listens (with the real port when 0 was asked).
    public let address: SocketAddress
    private let listener: Listener
    private let options: FloodServeOptions
    private let display: FloodDisplay
    /// Open connections, in the order they were accepted.
    private var connections: [FloodConnection] = []
    /// Connections accepted since start.
    public private(set) var acceptedCount = 0
    /// Bytes that arrived and were never read, over connections already closed.
    private var unreadOfClosed = 0
    /// Bytes `--drain` read, over connections already closed.
    private var drainedOfClosed = 0
    /// When `start()` ran, for the stats' uptime.
    private var startedAt: UInt64 = 0
    private var tickTimer: ReactorTimer?
    private var stopTimer: ReactorTimer?
    private var nextLive: UInt64 = 0
    private var isStopped = false

    /// Binds and listens, with SO_RCVBUF set before listen() so the handshake's window scale reflects it; or
    /// takes a socket the service manager passed (SO_RCVBUF is then set on it late: accepted connections
    /// still inherit it).
    ///
    /// - Throws: `SystemError` from socket, setsockopt, bind or listen (EADDRINUSE, EACCES, ...).
    public init(
        reactor: Reactor,
        address: SocketAddress,
        options: FloodServeOptions,
        display: FloodDisplay,
        listeningSocket: Socket? = nil
    ) throws {
        self.reactor = reactor
        self.options = options
        self.display = display
        let socket: Socket
        if let listeningSocket {
            socket = listeningSocket
        } else {
            socket = try Socket.listening(
                on: address,
                backlog: options.backlog,
                receiveBufferSize: options.receiveBufferSize
            )
        }
        do {
            if listeningSocket != nil, let size = options.receiveBufferSize { try socket.setReceiveBufferSize(size) }
            listener = try Listener(socket: socket, log: display.log)
        } catch {
            socket.close()
            throw error
        }
        self.address = listener.address
    }

    /// Prints the listening line and starts accepting (and the time limit, if any).
    public func start() throws(SystemError) {
        listener.onAccept = { [unowned self] socket, peer, reactor in self.accepted(socket, peer, in: reactor) }
        listener.hasRoom = { [unowned self] in self.connections.count < self.options.maxConnections }
        listener.maxConnections = { [unowned self] in self.options.maxConnections }
        do {
            try reactor.register(listener.socket, interest: .readable, handler: listener)
        } catch {
            listener.close(in: reactor)
            throw error
        }
        reactor.addBeforeSleepHook { [unowned self] in self.display.log.flush() }
        startedAt = MonotonicClock.now()
        display.event(
            "listening",
            level: .quiet,
            text: "Listening on \(address)",
            fields: [
                ("address", .string(address.description)), ("backend", .string(reactor.kind.rawValue)),
                ("port", .int(address.port)), ("rcvbuf", .int((try? listener.socket.receiveBufferSize()) ?? 0)),
            ]
        )
        let reading = options.drainRate.map { "reading each at \(NumberFormat.bytes($0))/s" } ?? "never reading them"
        display.event(
            "waiting",
            text: "Accepting connections and \(reading); each Recv-Q is shown as it grows. Ctrl-C to stop.",
            fields: []
        )
        if address.isWildcard {
            display.notice(
                "listening on every interface (\(address.host)): other machines can connect to port \(address.port)"
            )
        }
        if let duration = options.duration {
            stopTimer = reactor.schedule(after: duration) { [unowned self] _ in self.stop(reason: "time limit") }
        }
    }

    /// Ends the server: prints the table of open connections and the summary, closes everything, and
    /// stops the reactor. Safe to call more than once.
    public func stop(reason: String) {
        guard !isStopped else { return }
        isStopped = true
        if let tickTimer { reactor.cancel(tickTimer) }
        if let stopTimer { reactor.cancel(stopTimer) }
        tick(now: MonotonicClock.now(), final: true)
        display.clearLive()
        let rows = connections.compactMap { try? QueueTableRow.read($0.socket, role: "receiver (this process)") }
        let unread = rows.reduce(0) { $0 + $1.receiveQueue }
        let log = display.log
        switch log.format {
        case .text:
            if !rows.isEmpty {
                for line in [""] + QueueTable.lines(rows) + [""] { log.event("summary", level: .quiet, text: line) }
            }
            log.event(
                "summary",
                level: .quiet,
                text: "Stopped (\(reason)): \(acceptedCount) connection\(acceptedCount == 1 ? "" : "s") accepted, "
                    + "\(connections.count) still open; \(NumberFormat.grouped(unread + unreadOfClosed)) bytes "
                    + "arrived that were never read."
            )
        case .json:
            for row in rows { log.event("socket", level: .quiet, text: "", fields: row.fields) }
            log.event(
                "summary",
                level: .quiet,
                text: "",
                fields: [
                    ("reason", .string(reason)), ("connections", .int(acceptedCount)),
                    ("open", .int(connections.count)), ("recv_q", .int(unread)),
                    ("unread_closed", .int(unreadOfClosed)),
                    ("drained_bytes", .int(connections.reduce(0) { $0 + ($1.drain?.drainedBytes ?? 0) })),
                ]
            )
        }
        for connection in connections { connection.socket.close() }
        connections.removeAll()
        listener.close(in: reactor)
        log.flush()
        reactor.stop()
    }

    // MARK: - Connections

    private func accepted(_ socket: Socket, _ peer: SocketAddress, in reactor: Reactor) {
        let now = MonotonicClock.now()
        let connection = FloodConnection(socket: socket, peer: peer, drainRate: options.drainRate, now: now)
        connections.append(connection)
        acceptedCount += 1
        display.event(
            "accepted",
            text: "Accepted connection from \(peer)",
            fields: [("peer", .string(peer.description))]
        )
        display.event(
            "buffers",
            level: .verbose,
            text: "SO_RCVBUF \(NumberFormat.grouped(connection.receiveBuffer)) for \(peer)",
            fields: [("peer", .string(peer.description)), ("rcvbuf", .int(connection.receiveBuffer))]
        )
        scheduleTick()
    }

    private func scheduleTick() {
        guard tickTimer == nil || tickTimer?.isScheduled == false, !connections.isEmpty, !isStopped else { return }
        tickTimer = reactor.schedule(after: options.tickInterval) { [unowned self] _ in
            self.tick(now: MonotonicClock.now(), final: false)
            self.scheduleTick()
        }
    }

    /// Reads (or drains) every connection, prints what grew, and closes what the peer ended.
    private func tick(now: UInt64, final: Bool) {
        var ended: [(FloodConnection, String)] = []
        for connection in connections {
            do {
                try connection.drain?.drain(now: now)
                let queue = try connection.socket.inputQueueBytes()
                let state = try connection.socket.tcpInfo().state
                let drained = connection.drain?.drainedBytes ?? 0
                if queue != connection.receiveQueue || drained != connection.drainedAtLastTick {
                    connection.lastTraffic = now
                }
                connection.drainedAtLastTick = drained
                // Recorded first: data and FIN can arrive in one tick, and that data was still never read.
                connection.receiveQueue = queue
                connection.peakReceiveQueue = max(connection.peakReceiveQueue, queue)
                if state == KernelTCPTable.closed {
                    ended.append((connection, "reset by the peer"))
                    continue
                }
                // FIN arrives after all the data, so nothing more will come; a draining reader reads it first.
                if state == KernelTCPTable.closeWait && (queue == 0 || connection.drain == nil) {
                    ended.append((connection, "the peer closed it"))
                    continue
                }
                if let idle = options.idleTimeout, !final, now &- connection.lastTraffic >= idle.nanoseconds {
                    let seconds = NumberFormat.fixed(Double(idle.nanoseconds) / 1e9, decimals: 1)
                    ended.append((connection, "idle, no traffic for \(seconds) s"))
                    continue
                }
            } catch {
                ended.append((connection, "\(error)"))
                continue
            }
            report(connection, now: now, final: final)
        }
        for (connection, why) in ended { close(connection, why: why) }
        if connections.isEmpty { display.clearLive() }
        if !final, display.showsLiveLine, now >= nextLive {
            display.live(liveText())
            nextLive = now &+ FloodDisplay.liveInterval.nanoseconds
        }
    }

    /// Prints a connection's Recv-Q when it changed, at most four times a second (always on the final tick).
    private func report(_ connection: FloodConnection, now: UInt64, final: Bool) {
        guard display.printsIntervalLines else { return }
        let queue = connection.receiveQueue
        if let printed = connection.printed {
            guard printed.queue != queue else { return }
            guard final || now &- printed.at >= FloodDisplay.lineInterval.nanoseconds else { return }
        } else if queue == 0 {
            return
        }
        let change = queue - (connection.printed?.queue ?? 0)
        connection.printed = (queue, now)
        let sign = change >= 0 ? "+" : "-"
        var text = "\(connection.peer)  Recv-Q \(NumberFormat.grouped(queue)) (\(sign)"
        text += "\(NumberFormat.grouped(abs(change))))"
        if let drain = connection.drain { text += "  read \(NumberFormat.grouped(drain.drainedBytes))" }
        display.event(
            "recv_q",
            text: text,
            fields: [
                ("peer", .string(connection.peer.description)), ("recv_q", .int(queue)),
                ("drained", .int(connection.drain?.drainedBytes ?? 0)),
            ]
        )
    }

    private func close(_ connection: FloodConnection, why: String) {
        connections.removeAll { $0 === connection }
        listener.connectionClosed(in: reactor)
        unreadOfClosed += connection.receiveQueue
        drainedOfClosed += connection.drain?.drainedBytes ?? 0
        display.event(
            "closed",
            text: "Closing connection to \(connection.peer): \(why), "
                + "\(NumberFormat.grouped(connection.receiveQueue)) bytes never read",
            fields: [
                ("peer", .string(connection.peer.description)), ("reason", .string(why)),
                ("recv_q", .int(connection.receiveQueue)), ("peak_recv_q", .int(connection.peakReceiveQueue)),
            ]
        )
        connection.socket.close()
    }

    /// "1 connection  Recv-Q 128,512 (127.0.0.1:53225)", or the total over several.
    private func liveText() -> String {
        guard let largest = connections.max(by: { $0.receiveQueue < $1.receiveQueue }) else {
            return " waiting for a connection"
        }
        if connections.count == 1 {
            return " 1 connection  Recv-Q \(NumberFormat.grouped(largest.receiveQueue)) (\(largest.peer))"
                + " of SO_RCVBUF \(NumberFormat.grouped(largest.receiveBuffer))"
        }
        let total = connections.reduce(0) { $0 + $1.receiveQueue }
        return " \(connections.count) connections  Recv-Q \(NumberFormat.grouped(total)) in all, most "
            + "\(NumberFormat.grouped(largest.receiveQueue)) (\(largest.peer))"
    }
}

@available(*, unavailable)
extension FloodServer: Sendable {}

extension FloodServer: SupervisedServer {
    public func run() throws(SystemError) {
        try reactor.run()
    }

    /// The shutdown line (after the live line is cleared), then the table of open connections, then exit.
    public func beginShutdown(after signal: CInt) {
        let (text, fields) = EventLog.shutdownEvent(for: signal)
        display.event("shutdown", level: .quiet, text: text, fields: fields)
        stop(reason: signalName(signal))
    }

    /// Connections held and accepted; bytes in are what `--drain` read (the point is what is never read).
    public func statsReport() -> ServerStatsReport {
        var counters = ServerStats.Snapshot()
        counters.open = connections.count
        counters.accepted = acceptedCount
        counters.bytesIn = drainedOfClosed + connections.reduce(0) { $0 + ($1.drain?.drainedBytes ?? 0) }
        return ServerStatsReport(counters: counters, uptime: MonotonicClock.now() &- startedAt, countsRequests: false)
    }

    public var loopsAreTurning: Bool { true }
}
