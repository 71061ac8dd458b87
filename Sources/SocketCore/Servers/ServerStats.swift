// ServerStats.swift -- what a server has done since it started: connections, requests, bytes, errors by
// kind. SIGUSR1, --stats-interval and the service manager's STATUS= line read it.
//
// The rule of this file: one loop writes a ServerStats, any thread may read it. Each counter is an atomic
// that its one writer bumps with a relaxed load and a relaxed store, never a read-modify-write: on x86-64
// and arm64 that is a plain load and a plain store, what an integer field would cost, and a reader on
// another thread still sees whole values (no lock prefix per request).
import Synchronization

/// Why a connection was refused or cut, for the stats line's "errors by kind".
public enum ServerErrorKind: Int, Sendable, CaseIterable {
    /// A request that broke the protocol (bad header, bad JSON, too large).
    case badRequest
    /// The request (or its reading of the response) did not finish in time.
    case timeout
    /// The request bytes of all connections reached --max-buffered.
    case overBudget
    /// A read or write failed (reset, broken pipe).
    case io
    /// Accepting failed for want of descriptors or memory (the listener pauses).
    case accept
    /// A connection idle past --idle-timeout was closed.
    case idle

    /// The stats line's and JSON's name.
    public var name: String {
        switch self {
        case .badRequest: "bad_request"
        case .timeout: "timeout"
        case .overBudget: "over_budget"
        case .io: "io"
        case .accept: "accept"
        case .idle: "idle"
        }
    }
}

/// One loop's counters.
public final class ServerStats: Sendable {
    private let open = Atomic<Int>(0)
    private let accepted = Atomic<Int>(0)
    private let requests = Atomic<Int>(0)
    private let bytesIn = Atomic<Int>(0)
    private let bytesOut = Atomic<Int>(0)
    /// Indexed by `ServerErrorKind.rawValue`.
    private let errors = InlineArray<6, Atomic<Int>> { _ in Atomic<Int>(0) }

    public init() {}

    // MARK: - The writer (the loop that owns the connections)

    @inline(__always)
    func connectionOpened() {
        open.bump(1)
        accepted.bump(1)
    }

    @inline(__always)
    func connectionClosed() { open.bump(-1) }

    @inline(__always)
    func requestAnswered() { requests.bump(1) }

    @inline(__always)
    func received(_ count: Int) { bytesIn.bump(count) }

    @inline(__always)
    func sent(_ count: Int) { bytesOut.bump(count) }

    func count(_ kind: ServerErrorKind) { errors[kind.rawValue].bump(1) }

    // MARK: - Readers (any thread)

    /// Connections open now.
    public var openConnections: Int { open.load(ordering: .relaxed) }

    /// The counters now.
    public func snapshot() -> Snapshot {
        Snapshot(
            open: open.load(ordering: .relaxed),
            accepted: accepted.load(ordering: .relaxed),
            requests: requests.load(ordering: .relaxed),
            bytesIn: bytesIn.load(ordering: .relaxed),
            bytesOut: bytesOut.load(ordering: .relaxed),
            errors: ServerErrorKind.allCases.map { errors[$0.rawValue].load(ordering: .relaxed) }
        )
    }

    /// The counters at one moment, summable over workers.
    public struct Snapshot: Sendable, Equatable {
        public var open = 0
        public var accepted = 0
        public var requests = 0
        public var bytesIn = 0
        public var bytesOut = 0
        /// Indexed by `ServerErrorKind.rawValue`.
        public var errors = Array(repeating: 0, count: ServerErrorKind.allCases.count)

        public init() {}

        init(open: Int, accepted: Int, requests: Int, bytesIn: Int, bytesOut: Int, errors: [Int]) {
            self.open = open
            self.accepted = accepted
            self.requests = requests
            self.bytesIn = bytesIn
            self.bytesOut = bytesOut
            self.errors = errors
        }

        /// Errors of one kind.
        public subscript(kind: ServerErrorKind) -> Int { errors[kind.rawValue] }

        /// All errors.
        public var errorCount: Int { errors.reduce(0, +) }

        /// The sum of two loops' counters.
        public static func + (lhs: Snapshot, rhs: Snapshot) -> Snapshot {
            Snapshot(
                open: lhs.open + rhs.open,
                accepted: lhs.accepted + rhs.accepted,
                requests: lhs.requests + rhs.requests,
                bytesIn: lhs.bytesIn + rhs.bytesIn,
                bytesOut: lhs.bytesOut + rhs.bytesOut,
                errors: zip(lhs.errors, rhs.errors).map { $0 + $1 }
            )
        }
    }
}

extension Atomic where Value == Int {
    /// Adds `delta` for a counter with a single writer: a relaxed load and a relaxed store (see the file's rule).
    @inline(__always)
    fileprivate func bump(_ delta: Int) {
        store(load(ordering: .relaxed) &+ delta, ordering: .relaxed)
    }
}
