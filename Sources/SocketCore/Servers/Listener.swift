// Listener.swift -- accepts connections on the reactor: in batches, within a connection cap, and without
// spinning or dying when descriptors run out.

/// Accepts connections and hands them to its server.
///
/// Out of descriptors (EMFILE/ENFILE), it frees its spare descriptor to accept and close the waiting
/// connection (the client gets a clean close instead of a hang), pauses accepting for a moment (nginx,
/// HAProxy), and logs at most one line a second. At the connection cap it stops accepting: new clients wait
/// in the kernel's listen queue until a connection closes.
///
/// One of several loops sharing the socket (`--workers`), it takes a slot of the shared cap before each
/// accept and gives it back when the accept finds nothing: another loop won the race for the connection
/// (EAGAIN), which is normal, not an error.
public final class Listener: SocketHandler {
    /// The listening socket.
    public let socket: Socket
    /// Where it listens (with the real port).
    public let address: SocketAddress
    /// At most this many accepts per readable event, so one busy listener cannot starve the connections.
    public static let acceptsPerTurn = 64
    /// How long accepting pauses after EMFILE/ENFILE.
    public static let exhaustionPause: Duration = .milliseconds(100)
    /// The EMFILE warning comes at most this often.
    static let exhaustionWarningInterval: Duration = .seconds(1)
    /// The connection-cap warning comes at most this often: a server at its cap pauses and resumes with
    /// every connection that closes.
    static let capWarningInterval: Duration = .seconds(10)

    private let log: EventLog
    private let spare = SpareDescriptor()
    /// Called for each accepted connection.
    var onAccept: (Socket, SocketAddress, Reactor) -> Void = { socket, _, _ in socket.close() }
    /// Asked before each accept: false at the connection cap (one loop; with `slots` the slots decide).
    var hasRoom: () -> Bool = { true }
    /// The cap shared by every loop on this socket (`--workers`); nil for a server with one loop.
    var slots: ConnectionSlots?
    private var pauseTimer: ReactorTimer?
    private var isPausedAtCap = false
    /// This listener's, or (`--workers`) the whole server's.
    var exhaustionWarnings = WarningRate(interval: Listener.exhaustionWarningInterval)
    var capWarnings = WarningRate(interval: Listener.capWarningInterval)
    /// The cap in force, for the log line.
    var maxConnections: () -> Int = { 0 }
    private var refusedSinceLog = 0
    /// Counts accept failures (EMFILE, ENOMEM), when a server keeps stats.
    var stats: ServerStats?

    init(socket: Socket, log: EventLog) throws(SystemError) {
        self.socket = socket
        self.address = try socket.localAddress()
        self.log = log
    }

    public func readable(in reactor: Reactor) {
        for _ in 0..<Self.acceptsPerTurn {
            guard takeSlot() else {
                pauseAtCap(in: reactor)
                return
            }
            do {
                // nil: nothing pending, or (--workers) another loop took it first.
                guard let (connection, peer) = try socket.accept() else {
                    slots?.give()
                    return
                }
                let credentials = peer.isUnix ? connection.peerCredentials() : nil
                onAccept(connection, peer.shownPeer(listeningOn: address, credentials: credentials), reactor)
            } catch let error where error.errno == .tooManyOpenFiles || error.errno == .tooManyOpenFilesInSystem {
                slots?.give()
                handleExhaustion(error, in: reactor)
                return
            } catch let error where error.errno.isPendingConnectionFailure {
                // The client gave up before we accepted (ECONNABORTED), a firewall hook refused (EPERM), or
                // the connection's own network failed (accept(2): "treat them like EAGAIN by retrying"):
                // that connection is gone, the next may be fine.
                slots?.give()
                continue
            } catch {
                // ENOBUFS/ENOMEM: the kernel is short of memory. Pause like for EMFILE rather than spin.
                slots?.give()
                handleExhaustion(error, in: reactor)
                return
            }
        }
    }

    public func writable(in reactor: Reactor) {}

    /// A slot for one more connection: the shared cap's, or room under this loop's own.
    @inline(__always)
    private func takeSlot() -> Bool {
        if let slots { return slots.take() }
        return hasRoom()
    }

    /// Called by the server when a connection closed (with `--workers`, also when another loop's did):
    /// resumes accepting if the cap had paused it.
    func connectionClosed(in reactor: Reactor) {
        guard isPausedAtCap, slots?.hasRoom ?? hasRoom(), socket.isOpen else { return }
        resume(in: reactor)
    }

    private func resume(in reactor: Reactor) {
        isPausedAtCap = false
        slots?.resumed()
        reactor.setInterest(.readable, for: socket)
    }

    /// Stops accepting for good and closes the socket (shutdown).
    func close(in reactor: Reactor) {
        if isPausedAtCap {
            isPausedAtCap = false
            slots?.resumed()
        }
        if let pauseTimer { reactor.cancel(pauseTimer) }
        reactor.deregister(socket)
        socket.closeListener()
        spare.release()
    }

    private func pauseAtCap(in reactor: Reactor) {
        guard !isPausedAtCap else { return }
        isPausedAtCap = true
        reactor.setInterest(.none, for: socket)
        if slots?.paused() == true {
            // Another loop gave a slot back before this pause was counted: it woke nobody.
            resume(in: reactor)
            return
        }
        guard capWarnings.allows(now: MonotonicClock.now()) else { return }
        log.warning(
            "connection limit reached (--max-conns \(maxConnections())); new connections wait in the listen queue "
                + "until one closes",
            fields: [("reason", .string("max_conns")), ("max_conns", .int(maxConnections()))]
        )
    }

    private func handleExhaustion(_ error: SystemError, in reactor: Reactor) {
        stats?.count(.accept)
        // With the spare freed there is one descriptor for the waiting connection: accept it and close it
        // at once, so that client is answered and the listener is not readable forever.
        spare.release()
        if let (connection, _) = try? socket.accept() {
            connection.close()
            refusedSinceLog += 1
        }
        spare.reacquire()
        if exhaustionWarnings.allows(now: MonotonicClock.now()) {
            let refused = refusedSinceLog > 0 ? "; closed \(refusedSinceLog) new connection(s)" : ""
            log.warning(
                "accept: \(error.errno) (\(error.errno.name)): pausing accepts for 100 ms\(refused)",
                fields: [("errno", .string(error.errno.name)), ("refused", .int(refusedSinceLog))]
            )
            refusedSinceLog = 0
        }
        reactor.setInterest(.none, for: socket)
        if let pauseTimer { reactor.cancel(pauseTimer) }
        pauseTimer = reactor.schedule(after: Self.exhaustionPause) { [weak self] reactor in
            guard let self, self.socket.isOpen else { return }
            self.pauseTimer = nil
            if !self.isPausedAtCap { reactor.setInterest(.readable, for: self.socket) }
        }
    }
}
