// MultiConnectionClient.swift -- `connect` and `connect --conns N` (the guide's echo-client.py and
// multiconn-client.py) on the reactor: N echo exchanges at once, each on its own ClientConnection.

/// Echo connections at once on one loop, and their totals.
public final class MultiConnectionClient {
    let reactor: Reactor
    let log: EventLog
    let options: ClientOptions
    /// One read buffer for every connection of the loop.
    let readBuffer = ReadBuffer(size: MultiConnectionClient.largestReceiveSize)
    /// The most bytes one read asks for (`connect --recv-size`).
    public static let largestReceiveSize = 64 * 1024
    /// What each recv() asks for when `connect --recv-size` set it (at most `largestReceiveSize`): the
    /// guide's recv(1024). A single connection then prints every read, to show how the echo arrives.
    public var receiveSize: Int?
    private var exchanges: [EchoExchange] = []
    private var voice = EchoVoice.numbered
    /// Per-connection outcome, filled in as connections finish.
    public private(set) var summary = TransferSummary()
    /// The first failure, labelled with its connection.
    public private(set) var firstFailure: ClientFailure?
    /// Failures that the server's answer did not cause (refused, reset, timeouts): if every connection
    /// failed so, the first is reported as itself (a refused connection is exit 69 with its hint, a timeout
    /// 75, as for a single connection; not "3 of 3 connections failed", exit 1).
    private var unreachedCount = 0
    private var firstUnlabelled: ClientFailure?
    private var started: UInt64 = 0

    public init(reactor: Reactor, log: EventLog, options: ClientOptions) {
        self.reactor = reactor
        self.log = log
        self.options = options
    }

    /// Opens `count` connections to `target`, connection `i` (from 1) sending `messages(i)`.
    public func start(target: DialTarget, count: Int, messages: (Int) -> [[UInt8]]) {
        start(target: target, voice: .numbered, messages: (1...count).map(messages))
    }

    fileprivate func start(target: DialTarget, voice: EchoVoice, messages: [[[UInt8]]]) {
        started = MonotonicClock.now()
        self.voice = voice
        reactor.addBeforeSleepHook { [unowned self] in self.log.flush() }
        exchanges = messages.enumerated().map { EchoExchange(id: $0 + 1, messages: $1, voice: voice, client: self) }
        for exchange in exchanges {
            if voice == .numbered {
                log.event(
                    "starting",
                    text: "Starting connection \(exchange.id) to \(target.first)",
                    fields: [("connection", .int(exchange.id)), ("peer", .string(target.first.description))]
                )
            }
            exchange.connection.recordsTCPInfoAtClose = log.wants(.verbose)
            exchange.connection.open(target)
        }
    }

    /// Runs until every connection finished; returns the totals.
    ///
    /// - Throws: The failure itself when one connection ran (or every one failed before the server
    ///   answered), else `PartialFailure` when any connection failed or saw different bytes.
    public func run() throws -> TransferSummary {
        try reactor.run()
        summary.nanoseconds = MonotonicClock.now() - started
        if summary.failedConnections > 0, let firstUnlabelled,
            voice == .single
                || (summary.failedConnections == summary.connections
                    && unreachedCount == summary.failedConnections)
        {
            throw firstUnlabelled
        }
        if summary.failedConnections > 0 {
            throw PartialFailure(failed: summary.failedConnections, total: summary.connections, first: firstFailure)
        }
        return summary
    }

    func finished(_ exchange: EchoExchange, failure: ClientFailure?) {
        summary.connections += 1
        summary.bytesSent += exchange.bytesSent
        summary.bytesReceived += exchange.bytesReceived
        guard let failure else {
            if voice == .numbered {
                log.event(
                    "closed",
                    text: "Closing connection \(exchange.id)",
                    fields: [("connection", .int(exchange.id))]
                )
            }
            log.tcpSummary(exchange.tcpInfoAtClose, side: .client, peer: exchange.connection.peer)
            return
        }
        summary.failedConnections += 1
        if !failure.kind.isTheServersAnswer { unreachedCount += 1 }
        if firstUnlabelled == nil { firstUnlabelled = failure }
        let labelled = failure.labelled("connection \(exchange.id)")
        if firstFailure == nil { firstFailure = labelled }
        guard voice == .numbered else { return }
        log.event(
            "error",
            level: .quiet,
            text: "error: \(labelled.message)",
            fields: [("connection", .int(exchange.id)), ("message", .string(failure.message))]
        )
    }
}

@available(*, unavailable)
extension MultiConnectionClient: Sendable {}

/// `connect` in its simplest form: the guide's echo-client.py.
public enum EchoClient {
    /// Connects (trying every address), sends `payload`, reads until as many bytes came back, checks them.
    ///
    /// - Returns: What was sent and received.
    /// - Throws: `ClientFailure` (refused, reset, timeout, early close, mismatch).
    public static func run(
        target: DialTarget,
        payload: [UInt8],
        options: ClientOptions,
        log: EventLog,
        reactor: Reactor,
        receiveSize: Int? = nil
    ) throws -> TransferSummary {
        let client = MultiConnectionClient(reactor: reactor, log: log, options: options)
        client.receiveSize = receiveSize
        client.start(target: target, voice: .single, messages: [[payload]])
        return try client.run()
    }
}
