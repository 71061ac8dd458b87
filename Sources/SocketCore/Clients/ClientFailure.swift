// ClientFailure.swift -- the one failure vocabulary: a kind that load reports, --json events, hints and
// exit statuses all switch over, and the words for people. Nothing decides by comparing or searching text.

/// What kind of failure ended a client's exchange.
public enum FailureKind: Sendable, Hashable, CaseIterable {
    /// Nothing listens there (ECONNREFUSED).
    case refused
    /// The peer reset the connection, or closed it while we were still sending (ECONNRESET, EPIPE).
    case reset
    /// A handshake or progress deadline passed.
    case timedOut
    /// The peer closed before the exchange was complete.
    case closedEarly
    /// The echo or response differs from what was sent or expected.
    case mismatch
    /// The peer's bytes broke the protocol.
    case protocolViolation
    /// No descriptor or local port was left (EMFILE, ENFILE, EADDRNOTAVAIL, ENOBUFS).
    case noDescriptors
    /// No route to the host or network (EHOSTUNREACH, ENETUNREACH).
    case unreachable
    /// Connected, but no byte moved during a load run: the server never served the connection.
    case starved
    /// Any other system failure.
    case other

    /// The kind a failed system call is.
    public init(_ error: SystemError) {
        switch error.errno {
        // No file at a Unix socket's path is nothing listening, as a refused connect is.
        case .connectionRefused, .noSuchFile: self = .refused
        case .connectionReset, .brokenPipe, .connectionAborted: self = .reset
        case .timedOut: self = .timedOut
        case .tooManyOpenFiles, .tooManyOpenFilesInSystem, .addressNotAvailable, .noBufferSpace: self = .noDescriptors
        case .hostUnreachable, .networkUnreachable: self = .unreachable
        default: self = .other
        }
    }

    /// The name load reports count it under ("refused 3, timeout 1", the JSON "failures" keys): spellings
    /// scripts read, kept as they were.
    public var reportName: String {
        switch self {
        case .refused: "refused"
        case .reset: "reset"
        case .timedOut: "timeout"
        case .closedEarly: "closed_early"
        case .mismatch: "mismatch"
        case .protocolViolation: "protocol"
        case .noDescriptors: "no_descriptors"
        case .unreachable: "unreachable"
        case .starved: "no_bytes"
        case .other: "other"
        }
    }

    /// True when the server answered and got the exchange wrong (as opposed to not being reachable): a load
    /// run starts the next request at once after these, and backs off after the others.
    public var isTheServersAnswer: Bool {
        switch self {
        case .mismatch, .protocolViolation, .closedEarly, .starved: true
        case .refused, .reset, .timedOut, .noDescriptors, .unreachable, .other: false
        }
    }
}

/// A client's exchange that failed: its kind, the system call or frame error behind it if any, and what to
/// tell a person.
public struct ClientFailure: Error, Sendable, Equatable, CustomStringConvertible {
    public var kind: FailureKind
    /// What failed, in words: "connect(127.0.0.1:65432): Connection refused".
    public var message: String
    /// The failed system call, when one failed: its errno refines the diagnosis.
    public var systemError: SystemError?
    /// The frame error behind a protocol violation, when there was one.
    public var frameError: FrameError?

    public init(kind: FailureKind, message: String, systemError: SystemError? = nil, frameError: FrameError? = nil) {
        self.kind = kind
        self.message = message
        self.systemError = systemError
        self.frameError = frameError
    }

    /// A failed system call.
    public init(_ error: SystemError) {
        self.init(kind: FailureKind(error), message: error.description, systemError: error)
    }

    public var description: String { message }

    /// "echo (3 of 12 bytes back) from 127.0.0.1:65432 timed out after 0.3 s".
    public static func timedOut(waitingFor what: String, peer: String, nanoseconds: UInt64) -> ClientFailure {
        let seconds = Double(nanoseconds) / 1e9
        return ClientFailure(
            kind: .timedOut,
            message:
                "\(what) from \(peer) timed out after \(NumberFormat.fixed(seconds, decimals: seconds < 1 ? 3 : 1)) s"
        )
    }

    /// "127.0.0.1:65432: server closed the connection after 5 of 12 bytes came back".
    public static func closedEarly(peer: String, reason: String) -> ClientFailure {
        ClientFailure(kind: .closedEarly, message: "\(peer): \(reason)")
    }

    /// The echo or response is not what it should be.
    public static func mismatch(_ detail: String) -> ClientFailure {
        ClientFailure(kind: .mismatch, message: detail)
    }

    /// A load stream that moved no bytes during the run.
    public static func starved(_ detail: String) -> ClientFailure {
        ClientFailure(kind: .starved, message: "moved no bytes: " + detail)
    }

    /// "invalid response from 127.0.0.1:65432: <reason>".
    public static func protocolViolation(peer: String, reason: String, frameError: FrameError? = nil) -> ClientFailure {
        ClientFailure(
            kind: .protocolViolation,
            message: "invalid response from \(peer): \(reason)",
            frameError: frameError
        )
    }

    /// The same failure, its message prefixed: "connection 2: ..." or "stream 1: ...".
    public func labelled(_ label: String) -> ClientFailure {
        var copy = self
        copy.message = label + ": " + message
        return copy
    }
}

/// Some of a run's connections or requests failed (but not all for one reason); the first is described.
public struct PartialFailure: Error, Sendable, Equatable, CustomStringConvertible {
    public var failed: Int
    public var total: Int
    /// The first failure, labelled with its connection or stream.
    public var first: ClientFailure?
    /// "connections" or "requests".
    public var unit: String

    public init(failed: Int, total: Int, first: ClientFailure?, unit: String = "connections") {
        self.failed = failed
        self.total = total
        self.first = first
        self.unit = unit
    }

    public var description: String { "\(failed) of \(total) \(unit) failed; first: \(first?.message ?? "?")" }
}
