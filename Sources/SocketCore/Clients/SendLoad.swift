// SendLoad.swift -- `connect --send-only --duration`: one-way streams to a discard server (iperf3's
// sender): write as fast as the kernel takes, read and drop whatever comes back, then FIN and wait for
// the receiver to close, which says it read every byte.

/// Settings of a send-only load run.
public struct SendLoadOptions: Sendable {
    /// Where the streams connect (every address tried, in Happy Eyeballs order).
    public var target: DialTarget
    /// Connections on this worker: their stream numbers.
    public var streams: Range<Int>
    /// Bytes per write.
    public var chunkSize: Int
    /// When to stop sending (MonotonicClock ns); streams then send FIN and wait for the receiver to close.
    public var deadline: UInt64
    /// The handshake's deadline, and the progress deadline (which bounds the wait for the receiver).
    public var client: ClientOptions

    public init(target: DialTarget, streams: Range<Int>, chunkSize: Int, deadline: UInt64, client: ClientOptions) {
        self.target = target
        self.streams = streams
        self.chunkSize = chunkSize
        self.deadline = deadline
        self.client = client
    }
}

/// One thread's send-only streams.
public final class SendLoadWorker: LoadWorker {
    let reactor: Reactor
    let options: SendLoadOptions
    let progress: LoadProgress
    /// One chunk of the pattern: every write sends (the rest of) it; the receiver checks nothing.
    let chunk: UnsafeMutableRawBufferPointer
    let readBuffer = ReadBuffer(size: 64 * 1024)
    let window: LoadWindow
    var report = LoadReport()
    private var streams: [SendStream] = []
    private var sampleTimer: ReactorTimer?
    /// Writes per writable event, so a stream whose kernel buffer never fills cannot hold the loop (and
    /// its deadline) forever.
    static let writesPerTurn = 16
    private static let sampleInterval: Duration = .milliseconds(250)

    public init(reactor: Reactor, options: SendLoadOptions, progress: LoadProgress) {
        self.reactor = reactor
        self.options = options
        self.progress = progress
        chunk = .allocate(byteCount: options.chunkSize, alignment: BufferAlignment.bytes)
        let pattern = PayloadPattern().bytes
        for offset in 0..<options.chunkSize { chunk[offset] = pattern[offset % PayloadPattern.period] }
        window = LoadWindow(reactor: reactor, progress: progress, deadline: options.deadline)
    }

    deinit { chunk.deallocate() }

    public func start() {
        streams = options.streams.map { SendStream(id: $0, worker: self) }
        window.start(streams: streams.count) { [unowned self] reactor in
            if let sampleTimer = self.sampleTimer { reactor.cancel(sampleTimer) }
            self.sampleTimer = nil
            for stream in self.streams { stream.finish() }
        }
        scheduleSample()
        for stream in streams { stream.open() }
    }

    /// TCP_INFO of every open stream a few times a second, so each once-a-second progress line has a
    /// recent retransmit count and cwnd.
    private func scheduleSample() {
        sampleTimer = reactor.schedule(after: Self.sampleInterval) { [unowned self] _ in
            self.sampleTimer = nil
            for stream in self.streams { stream.sample() }
            self.scheduleSample()
        }
    }

    /// A stream closed: the run ends when the last one has.
    fileprivate func streamClosed(in reactor: Reactor) {
        window.streamClosed(in: reactor)
        if window.hasEnded, let sampleTimer {
            reactor.cancel(sampleTimer)
            self.sampleTimer = nil
        }
    }

    public func run() throws -> LoadReport {
        try reactor.run()
        report.nanoseconds = window.measuredNanoseconds
        return report
    }
}

@available(*, unavailable)
extension SendLoadWorker: Sendable {}

/// One send-only stream.
private final class SendStream: ClientExchange {
    let id: Int
    private var label: String { "stream \(id + 1)" }
    private unowned let worker: SendLoadWorker
    private lazy var connection = ClientConnection(
        reactor: worker.reactor,
        options: worker.options.client,
        exchange: self
    )
    /// Bytes written in the measured window (nothing is written after it).
    private var sent = 0
    /// Where the next write starts in the chunk.
    private var chunkOffset = 0
    /// Bytes the peer sent, read and dropped (the relay's --send-only does the same).
    private var received = 0
    /// FIN sent: waiting for the receiver to close.
    private var finishing = false
    /// The last TCP_INFO sample's retransmissions and congestion window (bytes), published as deltas.
    private var retransmits = 0
    private var congestionWindow = 0

    init(id: Int, worker: SendLoadWorker) {
        self.id = id
        self.worker = worker
    }

    func open() {
        connection.open(worker.options.target)
    }

    var awaiting: String {
        finishing ? "the receiver's close after \(sent) bytes and our FIN" : "room to send (\(sent) bytes sent)"
    }

    func connected(_ connection: ClientConnection, in reactor: Reactor) throws(ClientFailure) {
        // Connected after the run ended: it moved nothing, which `finished` reports.
        if worker.window.hasEnded {
            connection.close()
            return
        }
        try send()
    }

    func readable(_ connection: ClientConnection, in reactor: Reactor) throws(ClientFailure) {
        let buffer = worker.readBuffer.bytes
        for _ in 0..<4 {
            guard let count = try connection.read(into: buffer) else { return }
            if count == 0 {
                guard finishing else {
                    throw ClientFailure.closedEarly(
                        peer: connection.peer,
                        reason: "the receiver closed the connection after \(sent) bytes, before the run ended"
                    )
                }
                worker.report.bytesDelivered += sent
                worker.report.deliveredNanoseconds = max(
                    worker.report.deliveredNanoseconds,
                    reactor.now &- worker.window.started
                )
                connection.close()
                return
            }
            received += count
            if count < buffer.count { return }
        }
    }

    func writable(_ connection: ClientConnection, in reactor: Reactor) throws(ClientFailure) {
        try send()
    }

    /// Writes until the kernel is full (then asks for writability) or for a few chunks per turn.
    private func send() throws(ClientFailure) {
        guard !finishing else { return }
        let chunk = UnsafeRawBufferPointer(worker.chunk)
        for _ in 0..<SendLoadWorker.writesPerTurn {
            let written = try connection.write(UnsafeRawBufferPointer(rebasing: chunk[chunkOffset...]))
            guard written > 0 else { break }
            sent += written
            chunkOffset = (chunkOffset + written) % chunk.count
            worker.report.bytesSent += written
            worker.progress.bytesSent.wrappingAdd(written, ordering: .relaxed)
        }
        connection.setInterest([.readable, .writable])
    }

    /// The run ended: FIN, then read until the receiver closes (bounded by --timeout).
    func finish() {
        sample()
        switch connection.phase {
        case .dialing:
            // Otherwise the run would outlast --duration by up to the connect timeout.
            connection.fail(ClientFailure(kind: .timedOut, message: "connect not finished when the run ended"))
        case .connected:
            finishing = true
            do {
                try connection.shutdownWrite()
            } catch {
                connection.fail(error)
                return
            }
            connection.setInterest(.readable)
        case .idle, .closed:
            break
        }
    }

    /// Reads TCP_INFO and publishes what changed since the last sample.
    func sample() {
        guard connection.phase == .connected, !finishing, let socket = connection.socket,
            let bytes = try? socket.tcpInfoBytes(), let info = KernelTCPInfo(bytes: bytes[...])
        else { return }
        let total = Int(info.totalRetransmits)
        let window = Int(info.congestionWindow) * Int(info.sendMSS)
        worker.progress.retransmits.wrappingAdd(total - retransmits, ordering: .relaxed)
        worker.progress.congestionWindowBytes.wrappingAdd(window - congestionWindow, ordering: .relaxed)
        retransmits = total
        congestionWindow = window
    }

    func finished(_ connection: ClientConnection, failure: ClientFailure?, in reactor: Reactor) {
        // A stream that ends with the run keeps its last window (sampled in finish(), while it was open): the
        // last interval is printed after every stream closed, and would otherwise say 0.
        if !finishing { worker.progress.congestionWindowBytes.wrappingSubtract(congestionWindow, ordering: .relaxed) }
        congestionWindow = 0
        let failure =
            failure ?? (sent == 0 ? ClientFailure.starved("no byte could be sent during the run") : nil)
        worker.report.streams.append(
            StreamReport(
                stream: id + 1,
                bytesSent: sent,
                bytesReceived: received,
                retransmits: retransmits,
                failure: failure
            )
        )
        if let failure {
            worker.report.fail(failure.labelled(label))
            worker.progress.failed.wrappingAdd(1, ordering: .relaxed)
        }
        worker.streamClosed(in: reactor)
    }
}
