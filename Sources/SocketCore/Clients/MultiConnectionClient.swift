// MultiConnectionClient.swift -- `connect --conns N`: the guide's multiconn-client.py on the reactor.
// Every connection sends its messages, reads until all its bytes came back, checks them, and closes.

/// N echo connections at once on one loop.
public final class MultiConnectionClient {
    private let reactor: Reactor
    private let log: EventLog
    private let options: ClientOptions
    /// Per-connection outcome, filled in as connections finish.
    public private(set) var summary = TransferSummary()
    /// The first failure, for the error message.
    public private(set) var firstFailure: String?
    /// The first failure's error (a failed system call or a timeout): if every connection failed, it is
    /// reported as itself (a refused connection is exit 69 with its hint, a timeout 75, as for a single
    /// connection; not "3 of 3 connections failed", exit 1).
    private var firstError: (any Error)?
    /// Failures that came with such an error (the others: wrong bytes, an early close).
    private var failuresWithError = 0
    private let readBuffer = ReadBuffer(size: 64 * 1024)
    private var started: UInt64 = 0

    public init(reactor: Reactor, log: EventLog, options: ClientOptions) {
        self.reactor = reactor
        self.log = log
        self.options = options
    }

    /// Opens `count` connections to `address`, each sending `messages` (or `messages(i)`).
    public func start(address: SocketAddress, count: Int, messages: @escaping (Int) -> [[UInt8]]) {
        started = MonotonicClock.now()
        reactor.addBeforeSleepHook { [unowned self] in self.log.flush() }
        for id in 1...count {
            log.event(
                "starting",
                text: "Starting connection \(id) to \(address)",
                fields: [("connection", .int(id)), ("peer", .string(address.description))]
            )
            let connection = EchoClientConnection(id: id, messages: messages(id), client: self)
            connection.open(to: address, in: reactor)
        }
    }

    /// Runs until every connection finished; returns the totals.
    ///
    /// - Throws: `ToolError.connectionsFailed` when any connection failed or saw different bytes.
    public func run() throws -> TransferSummary {
        try reactor.run()
        summary.nanoseconds = MonotonicClock.now() - started
        // Reported as itself only if it is what every connection died of (one error kind for the status).
        if summary.failedConnections == summary.connections, failuresWithError == summary.failedConnections,
            let firstError
        {
            throw firstError
        }
        if summary.failedConnections > 0 {
            throw ToolError.connectionsFailed(
                failed: summary.failedConnections,
                total: summary.connections,
                first: firstFailure ?? "?"
            )
        }
        return summary
    }

    fileprivate var bytes: UnsafeMutableRawBufferPointer { readBuffer.bytes }
    fileprivate var eventLog: EventLog { log }
    fileprivate var clientOptions: ClientOptions { options }

    fileprivate func finished(_ connection: EchoClientConnection, failure: String?, error: (any Error)? = nil) {
        if let error {
            if firstError == nil { firstError = error }
            failuresWithError += 1
        }
        summary.connections += 1
        summary.bytesSent += connection.bytesSent
        summary.bytesReceived += connection.bytesReceived
        if let failure {
            summary.failedConnections += 1
            if firstFailure == nil { firstFailure = "connection \(connection.id): \(failure)" }
            log.event(
                "error",
                level: .quiet,
                text: "Error: connection \(connection.id): \(failure)",
                fields: [("connection", .int(connection.id)), ("message", .string(failure))]
            )
        }
    }
}

@available(*, unavailable)
extension MultiConnectionClient: Sendable {}

/// One connection of the multi-connection client.
private final class EchoClientConnection: SocketHandler {
    let id: Int
    private unowned let client: MultiConnectionClient
    private var socket: Socket?
    private var address: SocketAddress?
    private var peer = ""
    /// Messages not yet sent, in order; `expected` is all of them concatenated.
    private var messages: [[UInt8]]
    private let expected: [UInt8]
    private let outgoing = OutboundBuffer(retainedCapacity: 0)
    private(set) var bytesSent = 0
    private(set) var bytesReceived = 0
    private var connecting = true
    /// When the handshake began, for the -v line.
    private var openedAt: UInt64 = 0
    private var lastProgress: UInt64 = 0
    private var timer: ReactorTimer?

    init(id: Int, messages: [[UInt8]], client: MultiConnectionClient) {
        self.id = id
        self.messages = messages
        self.expected = messages.flatMap { $0 }
        self.client = client
    }

    func open(to address: SocketAddress, in reactor: Reactor) {
        self.address = address
        peer = address.description
        openedAt = MonotonicClock.now()
        do {
            let (socket, result) = try Dialer.start(to: address)
            self.socket = socket
            connecting = result == .inProgress
            if !connecting { client.eventLog.connected(socket, to: address, startedAt: openedAt, connection: id) }
            try reactor.register(socket, interest: [.readable, .writable], handler: self)
        } catch {
            finish(failure: "\(error)", error: error, in: reactor)
            return
        }
        lastProgress = reactor.now
        armTimer(in: reactor, from: lastProgress)
    }

    func writable(in reactor: Reactor) {
        guard let socket, let address else { return }
        if connecting {
            do {
                try socket.finishConnect(to: address)
            } catch {
                finish(failure: "\(error)", error: error, in: reactor)
                return
            }
            connecting = false
            client.eventLog.connected(socket, to: address, startedAt: openedAt, connection: id)
            // From here on --timeout applies, which may be shorter than the handshake's deadline.
            lastProgress = reactor.now
            if let timer { reactor.cancel(timer) }
            armTimer(in: reactor, from: lastProgress)
        }
        do {
            while true {
                if outgoing.isEmpty {
                    guard !messages.isEmpty else { break }
                    let message = messages.removeFirst()
                    client.eventLog.event(
                        "sent",
                        text: "Sending \(ByteNotation.format(message)) to connection \(id)",
                        fields: [("connection", .int(id)), ("bytes", .int(message.count))]
                    )
                    outgoing.append(message)
                }
                guard case .processed(let written) = try socket.write(outgoing.readableBytes) else { return }
                outgoing.consume(written)
                bytesSent += written
                lastProgress = reactor.now
            }
        } catch {
            finish(failure: "\(error)", error: error, in: reactor)
            return
        }
        // Nothing to send means nothing to wait for.
        if expected.isEmpty {
            finish(failure: nil, in: reactor)
            return
        }
        // Everything sent: only the echo is left to wait for (mio's reregister(READABLE)).
        reactor.setInterest(.readable, for: socket)
    }

    func readable(in reactor: Reactor) {
        guard let socket, !connecting else {
            writable(in: reactor)  // a failed handshake reports POLLERR here; finishConnect tells why
            return
        }
        let buffer = client.bytes
        let count: Int
        do {
            guard case .processed(let read) = try socket.read(into: buffer) else { return }
            count = read
        } catch {
            finish(failure: "\(error)", error: error, in: reactor)
            return
        }
        if count == 0 {
            finish(
                failure: "server closed the connection after \(bytesReceived) of \(expected.count) bytes came back",
                in: reactor
            )
            return
        }
        let chunk = UnsafeRawBufferPointer(rebasing: buffer[0..<count])
        client.eventLog.event(
            "received",
            text: "Received \(ByteNotation.format(chunk)) from connection \(id)",
            fields: [("connection", .int(id)), ("bytes", .int(count))]
        )
        guard bytesReceived + count <= expected.count else {
            finish(
                failure: "received \(bytesReceived + count) bytes, more than the \(expected.count) sent",
                in: reactor
            )
            return
        }
        let matches = expected.withUnsafeBytes {
            bytesEqual(chunk.baseAddress!, $0.baseAddress! + bytesReceived, count: count)
        }
        if !matches {
            let offset = (0..<count).first { chunk[$0] != expected[bytesReceived + $0] } ?? 0
            finish(failure: "echo differs from what was sent, first at byte \(bytesReceived + offset)", in: reactor)
            return
        }
        bytesReceived += count
        lastProgress = reactor.now
        if bytesReceived == expected.count { finish(failure: nil, in: reactor) }
    }

    /// The handshake has --connect-timeout, then no progress for --timeout ends the connection.
    private var currentTimeout: UInt64 {
        (connecting ? client.clientOptions.connectTimeout : client.clientOptions.timeout).nanoseconds
    }

    /// Arms the deadline; progress only moves `lastProgress`, and the timer, when it fires, either ends the
    /// connection or sleeps until the new deadline.
    private func armTimer(in reactor: Reactor, from progress: UInt64) {
        timer = reactor.schedule(atNanoseconds: progress &+ currentTimeout) { [unowned self] reactor in
            self.timer = nil
            guard self.socket != nil else { return }
            let timeout = self.currentTimeout
            if reactor.now &- self.lastProgress >= timeout {
                let seconds = NumberFormat.fixed(Double(timeout) / 1e9, decimals: 1)
                let what =
                    self.connecting
                    ? "connect" : "no progress (\(self.bytesReceived) of \(self.expected.count) bytes back)"
                // A handshake timeout is the system's ETIMEDOUT, a silent server the tool's own timeout: if every
                // connection fails this way the run exits 75 with its hint, as a single `connect` does.
                let error: any Error =
                    self.connecting
                    ? SystemError(errno: .timedOut, call: "connect", detail: self.peer)
                    : ToolError.timedOut(
                        what: "echo (\(self.bytesReceived) of \(self.expected.count) bytes back)",
                        peer: self.peer,
                        seconds: Double(timeout) / 1e9
                    )
                self.finish(failure: "\(what): timed out after \(seconds) s", error: error, in: reactor)
            } else {
                self.armTimer(in: reactor, from: self.lastProgress)
            }
        }
    }

    private func finish(failure: String?, error: (any Error)? = nil, in reactor: Reactor) {
        if let timer { reactor.cancel(timer) }
        timer = nil
        if let socket {
            if failure == nil {
                client.eventLog.event("closed", text: "Closing connection \(id)", fields: [("connection", .int(id))])
            }
            reactor.deregister(socket)
            socket.close()
            self.socket = nil
        }
        client.finished(self, failure: failure, error: error)
    }
}
