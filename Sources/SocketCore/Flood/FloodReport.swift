// FloodReport.swift -- what a flood found: how many bytes the kernel accepted, where they sit (Recv-Q,
// Send-Q), the buffer sizes in effect and the system's limits, read while the sockets are still open.

/// A buffer size in effect, next to what was asked for.
public struct BufferSetting: Sendable, Equatable {
    /// The value passed to setsockopt, or nil when none was (the kernel's default, autotuned).
    public var requested: Int?
    /// getsockopt right after the socket was set up.
    public var atStart: Int
    /// getsockopt at the end of the run (the kernel may have grown an autotuned buffer meanwhile).
    public var atEnd: Int

    public init(requested: Int?, atStart: Int, atEnd: Int) {
        self.requested = requested
        self.atStart = atStart
        self.atEnd = atEnd
    }
}

/// The result of one flood.
public struct FloodReport: Sendable {
    /// Why the run ended.
    public enum Ending: Sendable, Equatable {
        /// send() made no progress for the quiet period: every buffer is full.
        case saturated
        /// The time limit passed first.
        case duration
        /// SIGINT or SIGTERM.
        case interrupted
        /// send() failed: the receiver reset or closed.
        case failed(SystemError)

        /// The JSON name.
        public var name: String {
            switch self {
            case .saturated: "saturated"
            case .duration: "duration"
            case .interrupted: "interrupted"
            case .failed: "failed"
            }
        }
    }

    /// True for the one-process demo (both ends here), false for a sender against a server.
    public var isLocalDemo: Bool
    /// The sender's address.
    public var local: SocketAddress
    /// The receiver's address.
    public var peer: SocketAddress
    /// Bytes per send() call.
    public var chunkSize: Int
    /// Bytes send() accepted in all: the kernel took responsibility for them.
    public var bytesAccepted: Int
    /// `bytesAccepted` when send() first said EAGAIN; nil if it never did.
    public var firstWouldBlockBytes: Int?
    /// When that happened, since the start.
    public var firstWouldBlockNanoseconds: UInt64?
    /// send() calls that said EAGAIN.
    public var wouldBlockCount: Int
    /// The sender's Send-Q at the end.
    public var sendQueue: Int
    /// Of that, bytes never sent (the rest is in flight, unacknowledged).
    public var unsentBytes: Int
    /// The receive window the receiver last advertised, from the sender's TCP_INFO (nil if not reported).
    public var peerWindow: Int?
    /// The sender's own Recv-Q (non-zero against an echo server whose replies nobody reads).
    public var senderReceiveQueue: Int
    /// The receiver's Recv-Q at the end, when this process can see it (demo, or a receiver on this host).
    public var receiveQueue: Int?
    /// The receiver's Send-Q, when visible.
    public var receiverSendQueue: Int?
    /// The netstat-like rows: the receiver's first (when visible), then the sender's.
    public var rows: [QueueTableRow]
    /// SO_SNDBUF on the sender.
    public var sendBuffer: BufferSetting
    /// SO_RCVBUF on the receiver (demo) or nil when the receiver is another process.
    public var receiveBuffer: BufferSetting?
    /// tcp_rmem, tcp_wmem, rmem_max, wmem_max.
    public var limits: KernelBufferLimits
    /// How long the run took.
    public var nanoseconds: UInt64
    /// Why it ended.
    public var ending: Ending
    /// The quiet period that defines "saturated".
    public var quietPeriod: Duration
    /// `--drain` bytes per second; nil when the receiver never reads.
    public var drainRate: Int?
    /// Bytes the receiver read.
    public var drainedBytes: Int
    /// Bytes per second the receiver actually read.
    public var measuredDrainRate: Double?
    /// Bytes per second send() accepted after its first EAGAIN (the pace the receiver allowed).
    public var sendRateAfterFull: Double?
    /// The queues over time.
    public var samples: [FloodSample]
    /// Where the SVG plot was written, if one was asked for.
    public var plotPath: String?

    /// Recv-Q + Send-Q: the bytes waiting in kernel memory (when the receiver is visible).
    public var bytesQueued: Int? { receiveQueue.map { $0 + sendQueue } }

    /// Seconds the run took.
    public var seconds: Double { Double(nanoseconds) / 1e9 }
}
