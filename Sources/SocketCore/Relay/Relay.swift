// Relay.swift -- `connect -m -` and `listen`: stdin to a connection and the connection to stdout, with
// TCP's half-close both ways, so no byte is lost whoever closes first (DESIGN.md, "The relay's
// end-of-stream rules"). One event, one rule:
//   stdin ends              -> shutdown(SHUT_WR) (unless --no-shutdown); copy the peer to stdout until its FIN
//   the peer's FIN          -> stop reading it; keep sending stdin until stdin ends; then close
//   a send fails            -> (the peer closed fully or reset) stop; say how much of stdin was not sent
//   stdout cannot be written -> stop: a local error (LocalIOError), not the peer's
//
// stdin or stdout may be a file or /dev/null, which epoll refuses: such an end is not registered, and
// its pump is driven by the connection's readiness instead (a file is always ready anyway).
//
// Over UDP (`connect --udp -m -`, `listen --udp`) each read of stdin is one datagram and each datagram
// one chunk for stdout; UDP has no FIN, so stdin's end stops sending only, and the session ends when
// nothing moved for the idle timeout (nc -u -w), on a signal (the command's), or on an error.

/// What a relay runs over.
public enum RelayConnection {
    /// A connected TCP or Unix stream socket, with half-close.
    case stream(Socket)
    /// A UDP socket: datagrams, no end of stream.
    case datagram(DatagramLink)
}

/// One relay session over a connected socket. Owns the socket from `init` and closes it at the end.
public final class Relay {
    private let connection: RelayConnection
    /// The connection's descriptor (kept: the socket's own is -1 once closed).
    private let connectionDescriptor: CInt
    private let peer: String
    private let input: StreamDescriptor
    private let options: RelayOptions
    private let log: EventLog
    /// Which end this process is, for the -v TCP_INFO line at close (`listen` is the server).
    public var side = ConnectionSide.client
    /// stdin to the peer; nil with --recv-only.
    private let outbound: RelayPump?
    /// The peer to stdout (to nowhere with --send-only).
    private let inbound: RelayPump
    /// What each pump waits for; nil once it stopped.
    private var outboundWait: Wait?
    private var inboundWait: Wait?
    /// True once that direction is over: its source ended and all of it was delivered, or it failed.
    private var outboundOver: Bool
    private var inboundOver = false
    private var failure: (any Error)?
    private var isFinished = false
    /// Descriptors registered with the reactor, and of those, the ones its backend watches (epoll refuses
    /// regular files and /dev/null).
    private var registered: [CInt] = []
    private var pollable: [CInt] = []
    private var reactor: Reactor?
    private var lastProgress: UInt64 = 0
    private var idleTimer: ReactorTimer?
    private var retryTimer: ReactorTimer?
    private let started = MonotonicClock.now()

    /// Buffers read per direction per readiness event, so one fast direction cannot starve the other.
    static let readsPerTurn = 8

    /// What a pump waits for before it can move on.
    private enum Wait: Equatable {
        /// Readiness on a descriptor the reactor watches.
        case ready(CInt, Interest)
        /// An end that cannot be watched said "would block" (a device without poll support): try again
        /// after a moment.
        case retry
    }

    /// Takes over `socket`, connected to `peer`.
    ///
    /// - Parameters:
    ///   - input: What is sent to the peer (stdin); not read with `.receiveOnly`.
    ///   - output: Where the peer's bytes go (stdout); not written with `.sendOnly`.
    public convenience init(
        socket: Socket,
        peer: String,
        input: StreamDescriptor,
        output: StreamDescriptor,
        options: RelayOptions,
        log: EventLog
    ) {
        self.init(connection: .stream(socket), peer: peer, input: input, output: output, options: options, log: log)
    }

    /// Takes over `connection`, whose other end is `peer`. Over UDP a stdin read is at most one datagram's
    /// payload (65,507 bytes), and `options.shutdownWhenInputEnds` does not apply (there is no FIN).
    public init(
        connection: RelayConnection,
        peer: String,
        input: StreamDescriptor,
        output: StreamDescriptor,
        options: RelayOptions,
        log: EventLog
    ) {
        self.connection = connection
        self.peer = peer
        self.input = input
        self.options = options
        self.log = log
        let end: RelayEnd
        var outboundSize = options.bufferSize
        var inboundSize = options.bufferSize
        switch connection {
        case .stream(let socket):
            end = .socket(socket)
            connectionDescriptor = socket.descriptor
        case .datagram(let link):
            end = .datagram(link)
            connectionDescriptor = link.socket.descriptor
            outboundSize = min(outboundSize, DatagramSocket.maximumPayload)
            // Room for the largest datagram (IPv6 carries 20 bytes more than IPv4): none is cut short.
            inboundSize = max(inboundSize, 1 << 16)
        }
        outbound =
            options.direction == .receiveOnly
            ? nil : RelayPump(from: .stream(input), to: end, bufferSize: outboundSize)
        inbound = RelayPump(
            from: end,
            to: options.direction == .sendOnly ? .discard : .stream(output),
            bufferSize: inboundSize
        )
        outboundOver = outbound == nil
        if log.dumpsBytes {
            // listen --udp -k: whoever sent last is the peer.
            let link: DatagramLink? = if case .datagram(let link) = connection { link } else { nil }
            outbound?.onWrite = { [unowned log] chunk, offset in
                log.hexDump(chunk, .sent, offset: offset, peer: link?.destination?.description ?? peer)
            }
            inbound.onRead = { [unowned log] chunk, offset in
                log.hexDump(chunk, .received, offset: offset, peer: link?.lastSender?.description ?? peer)
            }
        }
    }

    /// True over UDP.
    private var isDatagram: Bool {
        if case .datagram = connection { return true }
        return false
    }

    /// Relays until both directions are over, on `reactor` (which must have nothing else registered that
    /// could stop it early). Closes the socket before returning.
    ///
    /// - Returns: Bytes sent and received, and the time it took.
    /// - Throws: `RelayFailure` (the connection failed, or the idle timeout passed), `LocalIOError`
    ///   (stdin or stdout failed), or `SystemError` from registering with the reactor.
    public func run(on reactor: Reactor) throws -> TransferSummary {
        self.reactor = reactor
        defer { tearDown(reactor) }
        try register(connectionDescriptor, initial: .readable, in: reactor)
        if let outbound, let descriptor = outbound.source.descriptor {
            try register(descriptor, initial: .readable, in: reactor)
        }
        if let descriptor = inbound.sink.descriptor { try register(descriptor, initial: .writable, in: reactor) }
        lastProgress = reactor.now
        scheduleIdleCheck(at: lastProgress)
        // Each pump starts by waiting for its source, except that a file on stdin is never "readable" to
        // an epoll that refuses it: that one starts at once.
        if let outbound {
            outboundWait = watched(outbound.source, .readable)
            if outboundWait == nil { runOutbound() }
        }
        inboundWait = watched(inbound.source, .readable)
        if !isFinished {
            updateInterests()
            try reactor.run()
        }
        var summary = TransferSummary()
        summary.connections = 1
        summary.bytesSent = outbound?.bytesWritten ?? 0
        summary.bytesReceived = inbound.bytesRead
        summary.nanoseconds = MonotonicClock.now() &- started
        if let failure { throw failure }
        return summary
    }

    // MARK: - Registration

    private func register(_ descriptor: CInt, initial interest: Interest, in reactor: Reactor) throws(SystemError) {
        guard !registered.contains(descriptor) else { return }
        do {
            try reactor.register(descriptor: descriptor, interest: interest, handler: Port(relay: self, descriptor))
            registered.append(descriptor)
            pollable.append(descriptor)
        } catch let error where error.errno == .notPermitted {
            // epoll_ctl: EPERM for a regular file or /dev/null. Both are always ready: nothing to wait for.
        }
    }

    private func tearDown(_ reactor: Reactor) {
        if let idleTimer { reactor.cancel(idleTimer) }
        if let retryTimer { reactor.cancel(retryTimer) }
        for descriptor in registered { reactor.deregister(descriptor: descriptor) }
        registered.removeAll()
        switch connection {
        case .stream(let socket):
            log.tcpSummary(of: socket, side: side, peer: peer)
            socket.close()
        case .datagram(let link): link.socket.close()
        }
        self.reactor = nil
    }

    // MARK: - Events

    /// A registered descriptor is ready: run each pump that waits for exactly that.
    fileprivate func ready(_ descriptor: CInt, _ readiness: Interest) {
        if case .ready(descriptor, let interest) = outboundWait, readiness.contains(interest) { runOutbound() }
        if !isFinished, case .ready(descriptor, let interest) = inboundWait, readiness.contains(interest) {
            runInbound()
        }
        if !isFinished { updateInterests() }
    }

    private func runOutbound() {
        guard let outbound, !outboundOver, let reactor else { return }
        let before = outbound.bytesWritten
        do {
            let stop = try outbound.run(budget: Self.readsPerTurn)
            if outbound.bytesWritten != before { lastProgress = reactor.now }
            if stop == .ended {
                outboundWait = nil
                inputEnded(outbound)
            } else {
                outboundWait = wait(after: stop, of: outbound)
            }
        } catch {
            outboundWait = nil
            switch error {
            case .source(let error): finish(LocalIOError(.input, error))
            case .sink(let error): sendFailed(error, outbound)
            }
        }
    }

    private func runInbound() {
        guard !inboundOver, let reactor else { return }
        let before = inbound.bytesRead
        do {
            let stop = try inbound.run(budget: Self.readsPerTurn)
            if inbound.bytesRead != before { lastProgress = reactor.now }
            if stop == .ended {
                inboundWait = nil
                peerEnded()
            } else {
                inboundWait = wait(after: stop, of: inbound)
            }
        } catch {
            inboundWait = nil
            inboundOver = true
            switch error {
            case .source(let error):
                // A reset ends both directions: nothing more can be sent either.
                finish(connectionFailure(error))
            case .sink(let error): finish(LocalIOError(.output, error))
            }
        }
    }

    /// stdin ended and all of it went to the peer: FIN, unless --no-shutdown.
    private func inputEnded(_ pump: RelayPump) {
        outboundOver = true
        if isDatagram {
            // No FIN to send. --send-only has nothing to wait for; otherwise datagrams may still come.
            let receiving = options.direction != .sendOnly
            log.relayDatagramInputEnded(
                bytes: pump.bytesWritten,
                peer: peer,
                receiving: receiving,
                quietSeconds: options.idleTimeout.map { Double($0.nanoseconds) / 1e9 },
                inputIsTerminal: input.isTerminal
            )
            if !receiving { inboundOver = true }
            finishIfBothOver()
            return
        }
        if options.shutdownWhenInputEnds, case .stream(let socket) = connection {
            do {
                try socket.shutdown(.write)
            } catch {
                // ENOTCONN: the peer reset meanwhile. Everything was sent; the receive side reports the reset.
                finish(connectionFailure(error))
                return
            }
        }
        log.relayInputEnded(bytes: pump.bytesWritten, peer: peer, shutdown: options.shutdownWhenInputEnds)
        finishIfBothOver()
    }

    /// The peer's FIN, and all it sent is on stdout.
    private func peerEnded() {
        inboundOver = true
        log.relayPeerClosed(
            bytes: inbound.bytesRead,
            peer: peer,
            inputOpen: !outboundOver,
            inputIsTerminal: input.isTerminal
        )
        finishIfBothOver()
    }

    /// The peer closed fully or reset while stdin still had bytes for it. What it sent before that may
    /// still be waiting to be read: the inbound side reads on to its end, then the relay stops.
    private func sendFailed(_ error: SystemError, _ pump: RelayPump) {
        outboundOver = true
        if failure == nil { failure = connectionFailure(error) }
        // UDP: a datagram queued behind the error is unrelated to it, and nothing ends the receive side.
        if isDatagram { inboundOver = true }
        finishIfBothOver()
    }

    /// The connection's error, with what stdin still had if it was being sent.
    private func connectionFailure(_ error: SystemError) -> RelayFailure {
        let unacknowledged = unacknowledgedBytes()
        // All of stdin was sent (or none was to be): the error and what the peer never acknowledged say it.
        guard let outbound, !(outbound.sourceEnded && outbound.pendingBytes == 0) else {
            return RelayFailure(.connection(error), peer: peer, unacknowledgedBytes: unacknowledged)
        }
        return RelayFailure(
            .connection(error),
            peer: peer,
            unsentBytes: outbound.pendingBytes,
            unreadBytes: outbound.sourceEnded ? 0 : input.unreadBytes(),
            unacknowledgedBytes: unacknowledged
        )
    }

    /// What was written to a TCP connection and never acknowledged, read from TCP_INFO now (the kernel
    /// keeps the counters after a reset); nil when all of it was, or for a socket without TCP_INFO.
    private func unacknowledgedBytes() -> Int? {
        guard let outbound, case .stream(let socket) = connection, let info = KernelTCPInfo(of: socket) else {
            return nil
        }
        let unacknowledged = outbound.bytesWritten - Int(clamping: info.bytesAcked)
        return unacknowledged > 0 ? unacknowledged : nil
    }

    private func finishIfBothOver() {
        if outboundOver && inboundOver { finish(nil) }
    }

    private func finish(_ error: (any Error)?) {
        if let error, failure == nil { failure = error }
        isFinished = true
        reactor?.stop()
    }

    // MARK: - Interest

    /// What a pump that stopped for `stop` needs next.
    private func wait(after stop: RelayPump.Stop, of pump: RelayPump) -> Wait {
        switch stop {
        case .sourceWouldBlock: return watched(pump.source, .readable) ?? .retry
        case .sinkWouldBlock: return watched(pump.sink, .writable) ?? .retry
        // More may be there: a watched source says so at once (poll is level-triggered); an unwatched
        // one (a file) is always ready, so the connection's readiness on the other end drives it.
        case .budgetSpent: return watched(pump.source, .readable) ?? watched(pump.sink, .writable) ?? .retry
        case .ended: preconditionFailure("an ended pump waits for nothing")
        }
    }

    private func watched(_ end: RelayEnd, _ interest: Interest) -> Wait? {
        guard let descriptor = end.descriptor, pollable.contains(descriptor) else { return nil }
        return .ready(descriptor, interest)
    }

    /// Each watched descriptor's interest is what the pumps wait for on it, and nothing else: a descriptor
    /// with readable interest and nothing to read costs a wake-up per turn on a hang-up.
    private func updateInterests() {
        guard let reactor else { return }
        for descriptor in pollable {
            var interest: Interest = []
            if case .ready(descriptor, let wanted) = outboundWait { interest.formUnion(wanted) }
            if case .ready(descriptor, let wanted) = inboundWait { interest.formUnion(wanted) }
            reactor.setInterest(interest, for: descriptor)
        }
        if (outboundWait == .retry || inboundWait == .retry) && retryTimer == nil {
            retryTimer = reactor.schedule(after: .milliseconds(1)) { [unowned self] _ in
                self.retryTimer = nil
                if self.outboundWait == .retry { self.runOutbound() }
                if !self.isFinished && self.inboundWait == .retry { self.runInbound() }
                if !self.isFinished { self.updateInterests() }
            }
        }
    }

    // MARK: - Idle timeout

    /// One timer, re-armed lazily: bytes moving only update `lastProgress`, and the timer, when it fires,
    /// either ends the relay or sleeps until the new deadline.
    private func scheduleIdleCheck(at moment: UInt64) {
        guard let timeout = options.idleTimeout?.nanoseconds, let reactor else { return }
        idleTimer = reactor.schedule(atNanoseconds: moment &+ timeout) { [unowned self] reactor in
            self.idleTimer = nil
            guard !self.isFinished else { return }
            if reactor.now &- self.lastProgress >= timeout {
                // Waiting to send: bytes are read and stuck, or the next ones wait for the socket to take any.
                let sending =
                    !self.outboundOver
                    && ((self.outbound?.pendingBytes ?? 0) > 0
                        || self.outboundWait == .ready(self.connectionDescriptor, .writable))
                if self.isDatagram && !sending {
                    // UDP has no end of stream: a quiet --timeout is how a session ends (nc -u -w).
                    self.log.relayQuiet(seconds: Double(timeout) / 1e9, peer: self.peer)
                    self.finish(nil)
                    return
                }
                self.finish(
                    RelayFailure(
                        .idle(seconds: Double(timeout) / 1e9, sending: sending),
                        peer: self.peer,
                        unsentBytes: sending ? self.outbound?.pendingBytes : nil,
                        unreadBytes: sending ? self.input.unreadBytes() : nil
                    )
                )
            } else {
                self.scheduleIdleCheck(at: self.lastProgress)
            }
        }
    }
}

@available(*, unavailable)
extension Relay: Sendable {}

/// Hands one descriptor's readiness to its relay.
private final class Port: SocketHandler {
    unowned let relay: Relay
    let descriptor: CInt
    init(relay: Relay, _ descriptor: CInt) {
        self.relay = relay
        self.descriptor = descriptor
    }
    func readable(in reactor: Reactor) { relay.ready(descriptor, .readable) }
    func writable(in reactor: Reactor) { relay.ready(descriptor, .writable) }
}
