// EchoLoad.swift -- `connect --duration`: long-lived echo streams, every byte checked against a known
// pattern, with the round trip of each chunk measured (loadgen's echo mode, on our reactor).

/// Settings of an echo load run.
public struct EchoLoadOptions: Sendable {
    public var address: SocketAddress
    /// Connections on this worker: their stream numbers (each stream has its own pattern offset).
    public var streams: Range<Int>
    /// Bytes per chunk.
    public var chunkSize: Int
    /// Most bytes sent and not yet echoed per connection.
    public var window: Int
    /// When to stop sending (MonotonicClock ns); connections then drain and close.
    public var deadline: UInt64
    /// A handshake that takes longer fails.
    public var connectTimeout: Duration
    /// A connection without progress for this long fails.
    public var timeout: Duration

    public init(
        address: SocketAddress,
        streams: Range<Int>,
        chunkSize: Int,
        window: Int,
        deadline: UInt64,
        connectTimeout: Duration,
        timeout: Duration
    ) {
        self.address = address
        self.streams = streams
        self.chunkSize = chunkSize
        self.window = window
        self.deadline = deadline
        self.connectTimeout = connectTimeout
        self.timeout = timeout
    }
}

/// The pattern, in one block with a stable address for send() and memcmp().
final class PatternBlock: @unchecked Sendable {
    // @unchecked: written once in init, only read afterwards.
    let bytes: UnsafeMutableRawBufferPointer

    init(_ pattern: PayloadPattern = PayloadPattern()) {
        bytes = .allocate(byteCount: pattern.bytes.count, alignment: BufferAlignment.bytes)
        bytes.copyBytes(from: pattern.bytes)
    }

    deinit { bytes.deallocate() }

    /// Where stream `stream`'s byte `offset` starts; `period` bytes from there are contiguous.
    @inline(__always)
    func pointer(stream: Int, offset: Int) -> UnsafeRawPointer {
        UnsafeRawPointer(bytes.baseAddress!) + (stream &* 7919 &+ offset) % PayloadPattern.period
    }
}

/// One thread's echo streams.
public final class EchoLoadWorker: LoadWorker {
    let reactor: Reactor
    let options: EchoLoadOptions
    let progress: LoadProgress
    let pattern: PatternBlock
    let readBuffer = ReadBuffer()
    var report = LoadReport()
    private var streams: [EchoStream] = []
    private var started: UInt64 = 0
    /// Streams not closed yet; when all have failed before the deadline, the run ends at once instead of
    /// idling until the deadline and averaging over the dead time.
    private var openStreams = 0
    private var deadlineTimer: ReactorTimer?
    /// Looks for an early stop (a signal, seen by the runner on another thread) a few times a second.
    private var stopWatchTimer: ReactorTimer?
    /// When the run ended, if before the deadline.
    private var endedEarlyAt: UInt64?
    private static let stopWatchInterval: Duration = .milliseconds(100)
    /// The end of the measured window: the deadline, or the early stop. Echoes that come back later
    /// (while the streams drain) are checked but not counted.
    var measuredUntil: UInt64 { endedEarlyAt ?? options.deadline }

    public init(reactor: Reactor, options: EchoLoadOptions, progress: LoadProgress) {
        self.reactor = reactor
        self.options = options
        self.progress = progress
        self.pattern = PatternBlock()
    }

    public func start() {
        started = MonotonicClock.now()
        deadlineTimer = reactor.schedule(atNanoseconds: options.deadline) { [unowned self] reactor in
            self.deadlineTimer = nil
            self.end(in: reactor)
        }
        watchForStop()
        streams = options.streams.map { EchoStream(id: $0, worker: self) }
        openStreams = streams.count
        for stream in streams { stream.open(in: reactor) }
    }

    /// The deadline, or an early stop: send nothing new, close each stream once its echo is back.
    private func end(in reactor: Reactor) {
        if let stopWatchTimer { reactor.cancel(stopWatchTimer) }
        stopWatchTimer = nil
        for stream in streams { stream.drain(in: reactor) }
    }

    private func watchForStop() {
        stopWatchTimer = reactor.schedule(after: Self.stopWatchInterval) { [unowned self] reactor in
            self.stopWatchTimer = nil
            guard let deadlineTimer = self.deadlineTimer else { return }  // the run has ended already
            guard self.progress.stopping.load(ordering: .relaxed) else {
                self.watchForStop()
                return
            }
            reactor.cancel(deadlineTimer)
            self.deadlineTimer = nil
            self.endedEarlyAt = MonotonicClock.now()
            self.end(in: reactor)
        }
    }

    /// A stream closed, after draining or failing.
    fileprivate func streamClosed(in reactor: Reactor) {
        openStreams -= 1
        guard openStreams == 0 else { return }
        if let deadlineTimer { reactor.cancel(deadlineTimer) }
        if let stopWatchTimer { reactor.cancel(stopWatchTimer) }
        deadlineTimer = nil
        stopWatchTimer = nil
    }

    public func run() throws -> LoadReport {
        try reactor.run()
        // A run shorter than the set-up has nothing to measure, rather than a wrapped-around time.
        let end = min(measuredUntil, options.deadline)
        report.nanoseconds = min(end, MonotonicClock.now()) - min(started, end)
        return report
    }
}

@available(*, unavailable)
extension EchoLoadWorker: Sendable {}

/// One echo stream: sends pattern chunks within the window, checks every byte that comes back.
private final class EchoStream: SocketHandler {
    let id: Int
    /// "stream 1" for id 0: streams are numbered from 1 in messages, as connections are.
    private var label: String { "stream \(id + 1)" }
    private unowned let worker: EchoLoadWorker
    private var socket: Socket?
    /// Closed for good (a failed open never had a socket).
    private var closed = false
    private var connecting = true
    private var draining = false
    /// Bytes sent and received; the echo must equal the pattern from offset 0.
    private var sent = 0
    private var received = 0
    /// Bytes of the current chunk still to send.
    private var chunkRemaining = 0
    /// Send time of each chunk in flight, keyed by the stream offset where the chunk ends.
    private var inFlight: [(end: Int, sentAt: UInt64)] = []
    private var inFlightHead = 0
    private var lastProgress: UInt64 = 0
    private var timer: ReactorTimer?

    init(id: Int, worker: EchoLoadWorker) {
        self.id = id
        self.worker = worker
    }

    func open(in reactor: Reactor) {
        do {
            let (socket, result) = try Dialer.start(to: worker.options.address)
            self.socket = socket
            connecting = result == .inProgress
            try reactor.register(socket, interest: [.readable, .writable], handler: self)
        } catch {
            fail(LoadReport.kind(of: error), "\(error)", in: reactor)
            return
        }
        lastProgress = reactor.now
        armTimer(in: reactor)
    }

    func readable(in reactor: Reactor) {
        guard let socket else { return }
        if connecting {
            writable(in: reactor)
            return
        }
        let buffer = worker.readBuffer.bytes
        for _ in 0..<4 {
            let count: Int
            do {
                guard case .processed(let read) = try socket.read(into: buffer) else { break }
                count = read
            } catch {
                fail(LoadReport.kind(of: error), "\(label): \(error)", in: reactor)
                return
            }
            if count == 0 {
                fail(
                    "closed_early",
                    "\(label): server closed the connection after echoing \(received) bytes",
                    in: reactor
                )
                return
            }
            guard verify(UnsafeRawBufferPointer(rebasing: buffer[0..<count])) else {
                fail("mismatch", "\(label): echo differs from what was sent near byte \(received)", in: reactor)
                return
            }
            received += count
            lastProgress = reactor.now
            if lastProgress < worker.measuredUntil {
                worker.report.bytesReceived += count
                worker.progress.bytesReceived.wrappingAdd(count, ordering: .relaxed)
            }
            completeChunks(at: lastProgress)
            if count < buffer.count { break }
        }
        if closeIfDrained(in: reactor) { return }
        send(in: reactor)
    }

    func writable(in reactor: Reactor) {
        guard let socket else { return }
        if connecting {
            do {
                try socket.finishConnect(to: worker.options.address)
            } catch {
                fail(LoadReport.kind(of: error), "\(error)", in: reactor)
                return
            }
            connecting = false
            lastProgress = reactor.now
            // From here on the progress timeout applies, not the handshake's.
            if let timer { reactor.cancel(timer) }
            armTimer(in: reactor)
        }
        if closeIfDrained(in: reactor) { return }
        send(in: reactor)
    }

    /// Sends while the window allows; asks for writability only when the kernel is full.
    private func send(in reactor: Reactor) {
        guard let socket else { return }
        let options = worker.options
        while true {
            if chunkRemaining == 0 {
                guard !draining, sent - received + options.chunkSize <= options.window else { break }
                chunkRemaining = options.chunkSize
                inFlight.append((sent + options.chunkSize, MonotonicClock.now()))
            }
            let length = min(chunkRemaining, PayloadPattern.period)
            let result: IOResult<Int>
            do {
                result = try socket.write(
                    UnsafeRawBufferPointer(start: worker.pattern.pointer(stream: id, offset: sent), count: length)
                )
            } catch {
                fail(LoadReport.kind(of: error), "\(label): \(error)", in: reactor)
                return
            }
            guard case .processed(let written) = result else {
                reactor.setInterest([.readable, .writable], for: socket)
                return
            }
            sent += written
            chunkRemaining -= written
            worker.report.bytesSent += written
        }
        reactor.setInterest(.readable, for: socket)
    }

    /// Compares received bytes with the pattern at the current offset.
    private func verify(_ chunk: UnsafeRawBufferPointer) -> Bool {
        guard received + chunk.count <= sent else { return false }
        var offset = 0
        while offset < chunk.count {
            let length = min(chunk.count - offset, PayloadPattern.period)
            let expected = worker.pattern.pointer(stream: id, offset: received + offset)
            if !bytesEqual(chunk.baseAddress! + offset, expected, count: length) { return false }
            offset += length
        }
        return true
    }

    /// Records the round trip of every chunk whose last byte has come back.
    private func completeChunks(at now: UInt64) {
        let counted = now < worker.measuredUntil
        while inFlightHead < inFlight.count && inFlight[inFlightHead].end <= received {
            if counted {
                worker.report.latency.record(now &- inFlight[inFlightHead].sentAt)
                worker.report.completed += 1
                worker.progress.completed.wrappingAdd(1, ordering: .relaxed)
            }
            inFlightHead += 1
        }
        if inFlightHead > 64 {
            inFlight.removeFirst(inFlightHead)
            inFlightHead = 0
        }
    }

    /// The deadline passed: send nothing new, close once everything came back.
    func drain(in reactor: Reactor) {
        draining = true
        if connecting && socket != nil {
            // Otherwise the run would outlast --duration by up to the connect timeout.
            fail("timeout", "\(label): connect not finished when the run ended", in: reactor)
            return
        }
        _ = closeIfDrained(in: reactor)
    }

    /// After the deadline, a connected stream with everything back is done (also one whose handshake
    /// finished only after the deadline, which never sent anything).
    private func closeIfDrained(in reactor: Reactor) -> Bool {
        guard draining, socket != nil, !connecting, received == sent, chunkRemaining == 0 else { return false }
        close(in: reactor)
        return true
    }

    private func armTimer(in reactor: Reactor) {
        let timeout = (connecting ? worker.options.connectTimeout : worker.options.timeout).nanoseconds
        timer = reactor.schedule(atNanoseconds: lastProgress &+ timeout) { [unowned self] reactor in
            self.timer = nil
            guard self.socket != nil else { return }
            if reactor.now &- self.lastProgress >= timeout {
                let what = self.connecting ? "connect" : "echo stalled at \(self.received) of \(self.sent) bytes"
                let seconds = NumberFormat.fixed(Double(timeout) / 1e9, decimals: 1)
                self.fail("timeout", "\(self.label): \(what): timed out after \(seconds) s", in: reactor)
            } else {
                self.armTimer(in: reactor)
            }
        }
    }

    private func fail(_ kind: String, _ message: String, in reactor: Reactor) {
        worker.report.fail(kind, message)
        worker.progress.failed.wrappingAdd(1, ordering: .relaxed)
        close(in: reactor)
    }

    private func close(in reactor: Reactor) {
        if let timer { reactor.cancel(timer) }
        timer = nil
        if !closed {
            closed = true
            worker.streamClosed(in: reactor)
        }
        guard let socket else { return }
        reactor.deregister(socket)
        socket.close()
        self.socket = nil
    }
}
