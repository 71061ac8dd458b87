// PortProbe.swift -- `probe`: zero-I/O TCP checks (nc -z). Each port is one ClientConnection life (every
// resolved address tried, RFC 8305 order, the connect timeout per address); a handshake that completes
// means open and the socket is closed at once, without a byte sent. At most `concurrency` checks are in
// flight on one reactor, so a range of thousands of ports never needs thousands of descriptors.

/// What a check found on one port.
public enum PortState: Sendable, Equatable, CaseIterable {
    /// A handshake completed.
    case open
    /// Every address answered with a reset (nothing listens).
    case refused
    /// No answer within the connect timeout (a firewall that drops, a full accept queue).
    case timedOut
    /// No route to the host or network.
    case unreachable
    /// Any other failure (out of descriptors, ...).
    case failed

    /// The word in the text line and the JSON "state".
    public var name: String {
        switch self {
        case .open: "open"
        case .refused: "refused"
        case .timedOut: "timed out"
        case .unreachable: "unreachable"
        case .failed: "failed"
        }
    }

    /// The JSON spelling: one word.
    public var key: String { self == .timedOut ? "timed_out" : name }

    init(_ kind: FailureKind) {
        switch kind {
        case .refused: self = .refused
        case .timedOut: self = .timedOut
        case .unreachable: self = .unreachable
        case .reset, .closedEarly, .mismatch, .protocolViolation, .noDescriptors, .starved, .other: self = .failed
        }
    }
}

/// One port's outcome.
public struct PortResult: Sendable, Equatable {
    public var port: UInt16
    public var state: PortState
    /// The address that answered (open), or the first one tried.
    public var address: SocketAddress
    /// Why it is not open: the last address's failure.
    public var failure: ClientFailure?
    /// From the first attempt to the outcome.
    public var nanoseconds: UInt64
}

/// Checks ports, at most `concurrency` at once, on one reactor.
public final class PortProbe {
    private let reactor: Reactor
    private let options: ClientOptions
    private let concurrency: Int
    private var targets: [DialTarget] = []
    private var next = 0
    private var report: (Int, PortResult) -> Void = { _, _ in }
    /// The checks, each reopened for the next port when its last one ends: a long range reuses a few.
    private var checks: [PortCheck] = []

    /// - Parameters:
    ///   - options: The connect timeout per address and the attempt delay; the progress timeout is unused.
    ///   - concurrency: Most checks in flight (at least 1).
    public init(reactor: Reactor, options: ClientOptions, concurrency: Int) {
        self.reactor = reactor
        self.options = options
        self.concurrency = max(1, concurrency)
    }

    /// Checks every target (one port each) and calls `report` with its index as each one ends, in the
    /// order they end; returns when all have.
    public func run(_ targets: [DialTarget], report: @escaping (Int, PortResult) -> Void) throws(SystemError) {
        self.targets = targets
        self.report = report
        next = 0
        checks = (0..<min(concurrency, targets.count)).map { _ in PortCheck(probe: self) }
        for check in checks { startNext(on: check) }
        try reactor.run()
        checks.removeAll()
    }

    private func startNext(on check: PortCheck) {
        guard next < targets.count else { return }
        check.start(index: next, target: targets[next])
        next += 1
    }

    fileprivate func ended(_ check: PortCheck, index: Int, result: PortResult) {
        report(index, result)
        // On the next turn, not from inside the connection's end: a port refused at once on loopback would
        // otherwise start the next from here, and a long range would recurse through the whole range.
        _ = reactor.schedule(after: .zero) { [unowned self] _ in self.startNext(on: check) }
    }

    fileprivate func makeConnection(for check: PortCheck) -> ClientConnection {
        ClientConnection(reactor: reactor, options: options, exchange: check)
    }
}

@available(*, unavailable)
extension PortProbe: Sendable {}

/// One check at a time: open the target, and at the handshake's end close again.
private final class PortCheck: ClientExchange {
    unowned let probe: PortProbe
    lazy var connection = probe.makeConnection(for: self)
    private var index = 0
    private var port: UInt16 = 0
    private var first = SocketAddress(ipv4: "0.0.0.0", port: 0)!
    private var openedAt: UInt64 = 0
    private var answered: SocketAddress?

    init(probe: PortProbe) {
        self.probe = probe
    }

    func start(index: Int, target: DialTarget) {
        self.index = index
        port = target.first.port
        first = target.first
        answered = nil
        openedAt = MonotonicClock.now()
        connection.open(target)
    }

    var awaiting: String { "the handshake" }

    func connected(_ connection: ClientConnection, in reactor: Reactor) throws(ClientFailure) {
        // Zero I/O: the handshake is the answer. close() sends FIN; nothing was written.
        answered = connection.address
        connection.close()
    }

    func readable(_ connection: ClientConnection, in reactor: Reactor) throws(ClientFailure) {}
    func writable(_ connection: ClientConnection, in reactor: Reactor) throws(ClientFailure) {}

    func finished(_ connection: ClientConnection, failure: ClientFailure?, in reactor: Reactor) {
        let state: PortState = answered != nil && failure == nil ? .open : PortState(failure?.kind ?? .other)
        let result = PortResult(
            port: port,
            state: state,
            address: answered ?? first,
            failure: state == .open ? nil : failure,
            nanoseconds: MonotonicClock.now() &- openedAt
        )
        probe.ended(self, index: index, result: result)
    }
}
