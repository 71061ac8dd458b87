// ClientConnection.swift -- one client connection's life, written once: dial every address (RFC 8305 Happy
// Eyeballs: the families interleaved, a short delay between attempts, the first to connect wins and the
// others are closed), a handshake deadline, then a progress deadline, half-close, and teardown exactly once.
//
// Each program (connect's echo, --conns, the load modes, search) is a `ClientExchange` plugged into it: the
// exchange says what to send and what the bytes mean; the connection owns the socket, the deadlines and the
// end. A phase guards every step, so a life ends exactly once whoever ends it, and the exchange hears of it
// once (`finished`), after the socket is closed.

/// Settings every client shares.
public struct ClientOptions: Sendable {
    /// Longest wait for one address's TCP handshake.
    public var connectTimeout: Duration
    /// Longest wait for progress once connected (or for the whole exchange, see `TimeoutScope`); nil never.
    public var timeout: Duration?
    /// How long an attempt may be in flight before the next address is tried too (RFC 8305).
    public var attemptDelay: Duration
    /// SO_SNDBUF before connect (flood's sender); nil leaves the kernel's.
    public var sendBufferSize: Int?
    /// TCP_NODELAY: on for every client but flood's sender, which wants full segments.
    public var noDelay: Bool

    public init(
        connectTimeout: Duration = .seconds(5),
        timeout: Duration? = .seconds(10),
        attemptDelay: Duration = HappyEyeballs.attemptDelay,
        sendBufferSize: Int? = nil,
        noDelay: Bool = true
    ) {
        self.connectTimeout = connectTimeout
        self.timeout = timeout
        self.attemptDelay = attemptDelay
        self.sendBufferSize = sendBufferSize
        self.noDelay = noDelay
    }
}

/// A program's side of one client connection. All calls happen on the reactor's thread; a thrown failure
/// ends the connection with that failure.
public protocol ClientExchange: AnyObject {
    /// The handshake finished: start the exchange (send, set the interest wanted).
    func connected(_ connection: ClientConnection, in reactor: Reactor) throws(ClientFailure)
    /// The socket is readable, at end of stream, or failed: `connection.read` says which.
    func readable(_ connection: ClientConnection, in reactor: Reactor) throws(ClientFailure)
    /// The socket has room (only while `.writable` is in the interest).
    func writable(_ connection: ClientConnection, in reactor: Reactor) throws(ClientFailure)
    /// What the exchange waits for, for a timeout's message: "echo (3 of 12 bytes back)".
    var awaiting: String { get }
    /// The connection's life ended, exactly once, its socket closed: nil when the exchange closed it, or why
    /// it failed. The exchange may `open` the connection again from here.
    func finished(_ connection: ClientConnection, failure: ClientFailure?, in reactor: Reactor)
}

/// One client connection on a reactor, driven by an exchange.
public final class ClientConnection: DeadlineOwner {
    /// Where a connection is in its life.
    public enum Phase: Sendable, Equatable {
        /// Not opened yet.
        case idle
        /// Attempts in flight.
        case dialing
        /// One attempt won: the exchange runs.
        case connected
        /// Ended (it may be opened again).
        case closed
    }

    /// What the progress deadline measures once connected.
    public enum TimeoutScope: Sendable {
        /// --timeout without progress either way (an echo: each read).
        case sinceProgress
        /// --timeout for the whole exchange from the handshake on (a request and its whole response).
        case wholeExchange
    }

    public let reactor: Reactor
    public let options: ClientOptions
    public let timeoutScope: TimeoutScope
    private unowned let exchange: any ClientExchange
    public private(set) var phase = Phase.idle
    /// What the connection dials; set by `open`.
    public private(set) var target: DialTarget?
    /// The connected socket; nil unless connected.
    public private(set) var socket: Socket?
    /// The address that answered (once connected).
    public private(set) var address: SocketAddress?
    /// When `open` began (`MonotonicClock`), for the -v line's handshake time.
    public private(set) var dialStartedAt: UInt64 = 0
    /// Set by an exchange that prints the -v TCP_INFO line at close: teardown then reads it just before close().
    public var recordsTCPInfoAtClose = false
    /// The connected socket's TCP_INFO just before its close (nil unless recorded; nil for a Unix socket).
    public private(set) var tcpInfoAtClose: TCPInfoAtClose?
    /// One per address, kept for the next life (a load run reopens a connection per request).
    private var attempts: [DialAttempt] = []
    /// The next address to try, as an index into `target.addresses`.
    private var nextAddress = 0
    /// When the next address may start while others are in flight.
    private var nextAttemptAt: UInt64 = 0
    private var inFlight = 0
    /// The latest failed attempt: what the dial reports if every address fails.
    private var lastAttemptFailure: ClientFailure?
    /// The handshake deadlines and the attempt delay while dialing, then the progress deadline.
    private lazy var deadline = ReactorDeadline(reactor: reactor, owner: self)

    /// - Parameter exchange: The program; it owns the connection, which refers back to it unowned.
    public init(
        reactor: Reactor,
        options: ClientOptions,
        timeoutScope: TimeoutScope = .sinceProgress,
        exchange: some ClientExchange
    ) {
        self.reactor = reactor
        self.options = options
        self.timeoutScope = timeoutScope
        self.exchange = exchange
    }

    /// The peer as messages name it: the address that answered, or the first one tried.
    public var peer: String { (address ?? target?.first)?.description ?? "?" }

    // MARK: - Dialing

    /// Starts a life: dials `target`'s addresses. The exchange hears `connected`, or `finished` with the last
    /// address's failure.
    public func open(_ target: DialTarget) {
        precondition(phase == .idle || phase == .closed, "open of a connection that is still open")
        self.target = target
        phase = .dialing
        dialStartedAt = MonotonicClock.now()
        address = nil
        nextAddress = 0
        nextAttemptAt = dialStartedAt
        lastAttemptFailure = nil
        advanceDial()
    }

    /// Expires attempts past their handshake deadline, starts the next address when it is due (none in
    /// flight, the attempt delay passed, or the last attempt failed), and ends the life when every address
    /// has failed; otherwise arms the deadline for whichever comes next.
    private func advanceDial() {
        guard phase == .dialing, let target else { return }
        var now = MonotonicClock.now()
        let connectTimeout = options.connectTimeout.nanoseconds
        for attempt in attempts where attempt.socket != nil && now &- attempt.startedAt >= connectTimeout {
            let error = SystemError(errno: .timedOut, call: "connect", detail: attempt.address.description)
            attemptFailed(attempt, ClientFailure(error))
        }
        while nextAddress < target.addresses.count && (inFlight == 0 || now >= nextAttemptAt) {
            let index = nextAddress
            nextAddress += 1
            // A win hands over to the exchange, which may end this life and start another: nothing here
            // may touch the connection after it.
            if startAttempt(index, to: target.addresses[index], source: target.source) { return }
            now = MonotonicClock.now()
        }
        guard inFlight > 0 else {
            let failure = lastAttemptFailure ?? ClientFailure(SystemError(errno: .connectionRefused, call: "connect"))
            teardown(failure)
            return
        }
        var wake = UInt64.max
        for attempt in attempts where attempt.socket != nil { wake = min(wake, attempt.startedAt &+ connectTimeout) }
        if nextAddress < target.addresses.count { wake = min(wake, nextAttemptAt) }
        deadline.arm(at: wake)
    }

    /// Starts one attempt. - Returns: True if it connected at once (and won).
    private func startAttempt(_ index: Int, to address: SocketAddress, source: SocketAddress?) -> Bool {
        while attempts.count <= index { attempts.append(DialAttempt(connection: self)) }
        let attempt = attempts[index]
        attempt.address = address
        attempt.startedAt = MonotonicClock.now()
        do throws(SystemError) {
            let (socket, result) = try Socket.connecting(
                to: address,
                source: source,
                sendBufferSize: options.sendBufferSize,
                noDelay: options.noDelay
            )
            attempt.socket = socket
            // Until it wins, an attempt waits for writability only: the handshake's end, or its error.
            do {
                try reactor.register(socket, interest: result == .connected ? [] : .writable, handler: attempt)
            } catch {
                attempt.close(in: reactor)
                throw error
            }
            inFlight += 1
            nextAttemptAt = attempt.startedAt &+ options.attemptDelay.nanoseconds
            guard result == .connected else { return false }
            won(attempt)
            return true
        } catch {
            lastAttemptFailure = ClientFailure(error)
            nextAttemptAt = 0  // a failed attempt lets the next address start at once
            return false
        }
    }

    /// An attempt's socket became writable (or failed): the handshake's result is in SO_ERROR.
    fileprivate func attemptReady(_ attempt: DialAttempt) {
        guard let socket = attempt.socket else { return }
        do {
            try socket.finishConnect(to: attempt.address)
        } catch {
            attemptFailed(attempt, ClientFailure(error))
            nextAttemptAt = 0
            advanceDial()
            return
        }
        won(attempt)
    }

    private func attemptFailed(_ attempt: DialAttempt, _ failure: ClientFailure) {
        attempt.close(in: reactor)
        inFlight -= 1
        lastAttemptFailure = failure
    }

    /// The first attempt to connect: the others are closed, and the exchange starts.
    private func won(_ winner: DialAttempt) {
        for attempt in attempts where attempt !== winner && attempt.socket != nil { attempt.close(in: reactor) }
        inFlight = 0
        phase = .connected
        socket = winner.socket
        address = winner.address
        deadline.arm(after: options.timeout, movingWithProgress: timeoutScope == .sinceProgress)
        do {
            try exchange.connected(self, in: reactor)
        } catch {
            teardown(error)
        }
    }

    // MARK: - Events from the winning socket

    fileprivate func socketReadable(_ attempt: DialAttempt) {
        switch phase {
        case .dialing: attemptReady(attempt)
        case .connected:
            do {
                try exchange.readable(self, in: reactor)
            } catch {
                teardown(error)
            }
        case .idle, .closed: break
        }
    }

    fileprivate func socketWritable(_ attempt: DialAttempt) {
        switch phase {
        case .dialing: attemptReady(attempt)
        case .connected:
            do {
                try exchange.writable(self, in: reactor)
            } catch {
                teardown(error)
            }
        case .idle, .closed: break
        }
    }

    public func deadlinePassed(_ deadline: ReactorDeadline, in reactor: Reactor) {
        switch phase {
        case .dialing: advanceDial()
        case .connected:
            let failure = ClientFailure.timedOut(
                waitingFor: exchange.awaiting,
                peer: peer,
                nanoseconds: options.timeout?.nanoseconds ?? 0
            )
            teardown(failure)
        case .idle, .closed: break
        }
    }

    // MARK: - For the exchange

    /// Reads what has arrived.
    ///
    /// - Returns: The byte count (0: the peer closed its side), or nil when nothing is there yet.
    /// - Throws: The read's failure (a reset, ...); the connection then ends with it.
    @inline(__always)
    public func read(into buffer: UnsafeMutableRawBufferPointer) throws(ClientFailure) -> Int? {
        guard let socket else { preconditionFailure("read on a connection that is not connected") }
        let result: IOResult<Int>
        do {
            result = try socket.read(into: buffer)
        } catch {
            throw ClientFailure(error)
        }
        guard case .processed(let count) = result else { return nil }
        if count > 0 { deadline.progress() }
        return count
    }

    /// Writes what the kernel takes of `bytes`.
    ///
    /// - Returns: The bytes taken: 0 when the socket is full (ask for `.writable`).
    /// - Throws: The write's failure (EPIPE, ECONNRESET); the connection then ends with it.
    @inline(__always)
    public func write(_ bytes: UnsafeRawBufferPointer) throws(ClientFailure) -> Int {
        guard let socket else { preconditionFailure("write on a connection that is not connected") }
        let result: IOResult<Int>
        do {
            result = try socket.write(bytes)
        } catch {
            throw ClientFailure(error)
        }
        guard case .processed(let count) = result else { return 0 }
        if count > 0 { deadline.progress() }
        return count
    }

    /// Writes what the kernel takes of `bytes` from `offset` on (see `write(_:)`).
    @inline(__always)
    public func write(_ bytes: [UInt8], from offset: Int) throws(ClientFailure) -> Int {
        var outcome = Result<Int, ClientFailure>.success(0)
        bytes.withUnsafeBytes { raw in
            do throws(ClientFailure) {
                outcome = .success(try write(UnsafeRawBufferPointer(rebasing: raw[offset...])))
            } catch {
                outcome = .failure(error)
            }
        }
        return try outcome.get()
    }

    /// What the exchange wants to hear about next. Ask for `.writable` only while output is pending.
    @inline(__always)
    public func setInterest(_ interest: Interest) {
        guard let socket else { return }
        reactor.setInterest(interest, for: socket)
    }

    /// Half-close: sends FIN; reading goes on.
    public func shutdownWrite() throws(ClientFailure) {
        guard let socket else { return }
        do {
            try socket.shutdown(.write)
        } catch {
            throw ClientFailure(error)
        }
    }

    /// Ends the life cleanly: the exchange is done. Does nothing if it already ended.
    public func close() {
        teardown(nil)
    }

    /// Ends the life with `failure`. Does nothing if it already ended.
    public func fail(_ failure: ClientFailure) {
        teardown(failure)
    }

    /// Ends the life and hands the connected socket over, open and no longer registered (for a program that
    /// runs it without an exchange: the netcat relay, flood's sender). Nil unless connected.
    public func takeSocket() -> Socket? {
        guard phase == .connected, let socket, let winner = attempts.first(where: { $0.socket === socket }) else {
            return nil
        }
        reactor.deregister(socket)
        winner.socket = nil
        self.socket = nil
        teardown(nil)
        return socket
    }

    /// The one end of every life: the deadline disarmed, every socket deregistered and closed, the phase
    /// closed, and then (only then, and only once) the exchange told.
    private func teardown(_ failure: ClientFailure?) {
        guard phase == .dialing || phase == .connected else { return }
        let wasConnected = phase == .connected
        phase = .closed
        deadline.cancel()
        tcpInfoAtClose = recordsTCPInfoAtClose && wasConnected ? socket.flatMap(TCPInfoAtClose.init(of:)) : nil
        for attempt in attempts where attempt.socket != nil { attempt.close(in: reactor) }
        inFlight = 0
        socket = nil
        exchange.finished(self, failure: failure, in: reactor)
    }
}

@available(*, unavailable)
extension ClientConnection: Sendable {}

/// One address's connect attempt, and after it wins, the reactor's handler for the connection's socket.
private final class DialAttempt: SocketHandler {
    unowned let connection: ClientConnection
    var socket: Socket?
    var address: SocketAddress = SocketAddress(ipv4: "0.0.0.0", port: 0)!
    var startedAt: UInt64 = 0

    init(connection: ClientConnection) {
        self.connection = connection
    }

    func readable(in reactor: Reactor) { connection.socketReadable(self) }
    func writable(in reactor: Reactor) { connection.socketWritable(self) }

    /// Deregisters and closes the attempt's socket.
    func close(in reactor: Reactor) {
        guard let socket else { return }
        reactor.deregister(socket)
        socket.close()
        self.socket = nil
    }
}
