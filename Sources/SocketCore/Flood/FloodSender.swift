// FloodSender.swift -- the guide's app-client-test.py: send() on a non-blocking socket, again and again,
// until the kernel answers EAGAIN because every buffer between here and the reader is full.

/// The queues at one moment of a run, for the live line, the interval lines and the plot.
public struct FloodSample: Sendable, Equatable {
    /// Since the run started.
    public var nanoseconds: UInt64
    /// Bytes send() has taken so far.
    public var bytesAccepted: Int
    /// The sender's Send-Q (SIOCOUTQ).
    public var sendQueue: Int
    /// Of the Send-Q, bytes not sent at all yet (SIOCOUTQNSD); the rest is in flight.
    public var unsentBytes: Int
    /// The receiver's Recv-Q, when this process can see it.
    public var receiveQueue: Int?
    /// Bytes the receiver has read (`--drain`).
    public var drainedBytes: Int
    /// The receive window the receiver last advertised (TCP_INFO snd_wnd; nil where not available).
    public var peerWindow: Int?

    public init(
        nanoseconds: UInt64,
        bytesAccepted: Int,
        sendQueue: Int,
        unsentBytes: Int,
        receiveQueue: Int?,
        drainedBytes: Int,
        peerWindow: Int? = nil
    ) {
        self.nanoseconds = nanoseconds
        self.bytesAccepted = bytesAccepted
        self.sendQueue = sendQueue
        self.unsentBytes = unsentBytes
        self.receiveQueue = receiveQueue
        self.drainedBytes = drainedBytes
        self.peerWindow = peerWindow
    }

    /// Seconds since the run started.
    public var seconds: Double { Double(nanoseconds) / 1e9 }
}

/// Writes chunks without ever blocking and counts what the kernel took.
final class FloodSender {
    /// The connected, non-blocking socket.
    let socket: Socket
    /// One chunk of printable bytes, so a packet capture of the experiment is readable.
    private let chunk: UnsafeMutableRawBufferPointer
    /// Bytes send() accepted in all.
    private(set) var bytesAccepted = 0
    /// `bytesAccepted` and the time (MonotonicClock) when send() first said EAGAIN.
    private(set) var firstWouldBlock: (bytes: Int, at: UInt64)?
    /// How many send() calls said EAGAIN.
    private(set) var wouldBlockCount = 0
    /// When send() last took at least one byte (MonotonicClock).
    private(set) var lastProgress: UInt64
    /// True when the last send() said EAGAIN.
    private(set) var isBlocked = false

    /// Chunks per `pump` call, so a receiver that reads everything cannot keep the loop from its timers.
    static let chunksPerPump = 64

    init(socket: Socket, chunkSize: Int, now: UInt64) {
        self.socket = socket
        let pattern = Array("sockettool flood: bytes nobody reads. ".utf8)
        chunk = .allocate(byteCount: chunkSize, alignment: BufferAlignment.bytes)
        for index in 0..<chunkSize { chunk[index] = pattern[index % pattern.count] }
        lastProgress = now
    }

    deinit {
        chunk.deallocate()
    }

    /// Calls send() until it says EAGAIN or `chunksPerPump` chunks went out.
    ///
    /// - Returns: The bytes accepted by this call.
    /// - Throws: `SystemError` from send(): EPIPE or ECONNRESET when the receiver went away.
    func pump(now: UInt64) throws(SystemError) -> Int {
        var accepted = 0
        for _ in 0..<Self.chunksPerPump {
            let result = try socket.write(UnsafeRawBufferPointer(chunk))
            guard case .processed(let count) = result else {
                isBlocked = true
                wouldBlockCount += 1
                if firstWouldBlock == nil { firstWouldBlock = (bytesAccepted, now) }
                break
            }
            isBlocked = false
            accepted += count
            bytesAccepted += count
            lastProgress = now
        }
        return accepted
    }
}

@available(*, unavailable)
extension FloodSender: Sendable {}

/// The receiver's slow reader for `--drain RATE`: reads no more than RATE bytes per second since it began, so
/// the buffers empty at a known pace and the sender can only follow it.
final class FloodDrain {
    /// The receiving socket.
    private let socket: Socket
    /// Bytes per second.
    let rate: Int
    /// When draining began (MonotonicClock).
    let started: UInt64
    /// Bytes read so far.
    private(set) var drainedBytes = 0
    /// When the last bytes were read (MonotonicClock).
    private(set) var lastRead: UInt64
    /// True once the sender closed and everything was read.
    private(set) var reachedEnd = false
    private let buffer: UnsafeMutableRawBufferPointer

    init(socket: Socket, rate: Int, now: UInt64) {
        self.socket = socket
        self.rate = rate
        started = now
        lastRead = now
        buffer = .allocate(byteCount: 256 * 1024, alignment: BufferAlignment.bytes)
    }

    deinit {
        buffer.deallocate()
    }

    /// Reads what the rate allows by now (a token bucket that starts empty).
    ///
    /// - Throws: `SystemError` from read(), e.g. ECONNRESET.
    func drain(now: UInt64) throws(SystemError) {
        guard !reachedEnd else { return }
        // Clamped below Int.max: a fast rate over a very long run must not trap in the conversion.
        let allowed = Int(min(Double(rate) * Double(now &- started) / 1e9, 9e18)) - drainedBytes
        var left = allowed
        while left > 0 {
            let slice = UnsafeMutableRawBufferPointer(rebasing: buffer[0..<min(left, buffer.count)])
            guard case .processed(let count) = try socket.read(into: slice) else { return }
            if count == 0 {
                reachedEnd = true
                return
            }
            drainedBytes += count
            lastRead = now
            left -= count
        }
    }

    /// The rate achieved: bytes read per second since draining began.
    func measuredRate(now: UInt64) -> Double {
        let seconds = Double(now &- started) / 1e9
        return seconds > 0 ? Double(drainedBytes) / seconds : 0
    }
}

@available(*, unavailable)
extension FloodDrain: Sendable {}
