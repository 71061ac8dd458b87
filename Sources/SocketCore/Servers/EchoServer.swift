// EchoServer.swift -- `serve echo`: the guide's echo-server.py. One client at a time, on a blocking
// socket, in straight-line code; waits go through poll() so Ctrl-C and the idle timeout always work, and
// so SIGUSR1 (the stats line) and periodic duties (--stats-interval, watchdog pings) are answered while
// the server waits.

/// Settings for `serve echo`.
public struct BlockingEchoOptions: Sendable {
    /// Serve clients one after another instead of exiting after the first.
    public var keepServing: Bool
    /// Close a client that sends nothing for this long; nil never.
    public var idleTimeout: Duration?
    /// SO_REUSEADDR on the listener (false: `--no-reuseaddr`).
    public var reuseAddress: Bool

    public init(keepServing: Bool = false, idleTimeout: Duration? = .seconds(300), reuseAddress: Bool = true) {
        self.keepServing = keepServing
        self.idleTimeout = idleTimeout
        self.reuseAddress = reuseAddress
    }
}

/// The blocking echo server.
public final class BlockingEchoServer {
    private let listener: Socket
    /// Where it listens (with the real port).
    public let address: SocketAddress
    private let options: BlockingEchoOptions
    private let log: EventLog
    private let signals: SignalPipe?
    private let buffer = ReadBuffer(size: 64 * 1024)
    /// What the server has done, for the stats line.
    public let stats = ServerStats()
    private var startedAt: UInt64 = 0
    private var duties: [PeriodicDuty] = []

    /// An action due every `interval`, run from the waits.
    private struct PeriodicDuty {
        let interval: UInt64
        var due: UInt64
        let action: () -> Void
    }

    /// Binds and listens on a blocking socket, or takes a listening socket the service manager passed.
    ///
    /// - Parameters:
    ///   - signals: Signals that end the server (SIGINT, SIGTERM, SIGHUP routed into the pipe), and SIGUSR1,
    ///     which prints the stats line; nil in tests.
    ///   - listeningSocket: A blocking socket already listening (socket activation); nil binds `address`.
    public init(
        address: SocketAddress,
        options: BlockingEchoOptions,
        log: EventLog,
        signals: SignalPipe?,
        listeningSocket: Socket? = nil
    ) throws {
        if let listeningSocket {
            listener = listeningSocket
        } else {
            listener = try Socket.listening(
                on: address,
                backlog: Socket.defaultBacklog,
                blocking: true,
                reuseAddress: options.reuseAddress
            )
        }
        do {
            self.address = try listener.localAddress()
        } catch {
            listener.close()
            throw error
        }
        self.options = options
        self.log = log
        self.signals = signals
    }

    /// Runs `action` every `interval` while the server waits (at least 1 ms apart).
    public func every(_ interval: Duration, _ action: @escaping () -> Void) {
        let nanoseconds = max(interval.nanoseconds, 1_000_000)
        duties.append(PeriodicDuty(interval: nanoseconds, due: MonotonicClock.now() &+ nanoseconds, action: action))
    }

    /// The stats line's content now.
    public func statsReport() -> ServerStatsReport {
        ServerStatsReport(counters: stats.snapshot(), uptime: MonotonicClock.now() &- startedAt, countsRequests: false)
    }

    /// Prints the listening line; `run()` then serves.
    public func start() {
        startedAt = MonotonicClock.now()
        log.listening(on: address)
        log.flush()
    }

    /// Serves until the client leaves (or, with `keepServing`, until a signal). Calls `start()` first if
    /// nobody did.
    ///
    /// - Returns: The signal that ended the server, if one did.
    @discardableResult
    public func run() throws(SystemError) -> CInt? {
        defer { listener.closeListener() }
        if startedAt == 0 { start() }
        repeat {
            let outcome = try wait(listener, for: .readable, until: nil)
            if case .signalled(let signal) = outcome { return signal }
            guard let (client, peer) = try listener.acceptBlocking() else { continue }
            let credentials = peer.isUnix ? client.peerCredentials() : nil
            let shown = peer.shownPeer(listeningOn: address, credentials: credentials)
            if let signal = try serve(client, peer: shown.description) { return signal }
        } while options.keepServing
        return nil
    }

    /// How one client's session ended.
    private enum SessionEnd {
        case closedByClient, idle, failed
        case signalled(CInt)
    }

    /// Echoes one client until it closes; returns a signal if one ended it.
    private func serve(_ client: Socket, peer: String) throws(SystemError) -> CInt? {
        stats.connectionOpened()
        defer {
            log.tcpSummary(of: client, side: .server, peer: peer)
            client.close()
            stats.connectionClosed()
        }
        log.event("accepted", text: "Connected by \(peer)", fields: [("peer", .string(peer))])
        switch try echo(client, peer: peer) {
        case .closedByClient: log.closing(peer)
        case .idle:
            stats.count(.idle)
            log.closingIdle(peer, after: options.idleTimeout ?? .zero)
        case .failed: break
        case .signalled(let signal): return signal
        }
        return nil
    }

    /// The echo loop: wait (bounded by the idle timeout and interruptible by a signal), read, write back.
    /// The idle deadline is the reactor servers' arithmetic (`Inactivity`): it moves only with data.
    private func echo(_ client: Socket, peer: String) throws(SystemError) -> SessionEnd {
        var idle = Inactivity(timeout: options.idleTimeout, now: MonotonicClock.now())
        while true {
            switch try wait(client, for: .readable, until: idle.expiry) {
            case .signalled(let signal): return .signalled(signal)
            case .timedOut: return .idle
            case .ready: break
            }
            do {
                guard case .processed(let count) = try client.read(into: buffer.bytes) else { continue }
                if count == 0 { return .closedByClient }
                idle.progress(at: MonotonicClock.now())
                stats.received(count)
                let chunk = UnsafeRawBufferPointer(rebasing: buffer.bytes[0..<count])
                if log.wants(.verbose) { log.echoing(chunk, to: peer) }
                var offset = 0
                while offset < count {
                    if case .processed(let written) = try client.write(
                        UnsafeRawBufferPointer(rebasing: chunk[offset...])
                    ) {
                        stats.sent(written)
                        offset += written
                        continue
                    }
                    switch try wait(client, for: .writable, until: Wait.deadline(after: options.idleTimeout)) {
                    case .signalled(let signal): return .signalled(signal)
                    case .timedOut: return .idle
                    case .ready: continue
                    }
                }
            } catch {
                stats.count(.io)
                log.connectionError("\(error.call): \(error.errno)", peer: peer)
                return .failed
            }
        }
    }

    /// `Socket.wait` until `deadline` (`MonotonicClock`; nil never), answering what may come meanwhile:
    /// SIGUSR1 prints the stats line, and the periodic duties run when due; neither ends the wait nor
    /// moves its deadline.
    private func wait(
        _ socket: Socket,
        for interest: Interest,
        until deadline: UInt64?
    ) throws(SystemError)
        -> WaitOutcome
    {
        while true {
            var until = deadline
            if let due = duties.map(\.due).min() { until = min(until ?? due, due) }
            let outcome = try socket.wait(for: interest, until: until, signals: signals)
            switch outcome {
            case .signalled(let signal) where signal == SignalNumber.stats:
                log.stats(statsReport())
                log.flush()
            case .timedOut:
                let now = MonotonicClock.now()
                if let deadline, now >= deadline { return .timedOut }
                for index in duties.indices where duties[index].due <= now {
                    duties[index].due = now &+ duties[index].interval
                    duties[index].action()
                }
                log.flush()
            default:
                return outcome
            }
        }
    }
}

@available(*, unavailable)
extension BlockingEchoServer: Sendable {}
