// EchoLoad.swift -- `connect --duration`: long-lived echo streams, every byte checked against a known
// pattern, with the round trip of each chunk measured (loadgen's echo mode, on our reactor).

/// Settings of an echo load run.
public struct EchoLoadOptions: Sendable {
    /// Where the streams connect (every address tried, in Happy Eyeballs order).
    public var target: DialTarget
    /// Connections on this worker: their stream numbers (each stream has its own pattern offset).
    public var streams: Range<Int>
    /// Bytes per chunk.
    public var chunkSize: Int
    /// Most bytes sent and not yet echoed per connection.
    public var window: Int
    /// When to stop sending (MonotonicClock ns); connections then drain and close.
    public var deadline: UInt64
    /// The handshake's deadline, and the progress deadline (a stream without progress this long fails).
    public var client: ClientOptions

    public init(
        target: DialTarget,
        streams: Range<Int>,
        chunkSize: Int,
        window: Int,
        deadline: UInt64,
        client: ClientOptions
    ) {
        self.target = target
        self.streams = streams
        self.chunkSize = chunkSize
        self.window = window
        self.deadline = deadline
        self.client = client
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
    let window: LoadWindow
    var report = LoadReport()
    private var streams: [EchoStream] = []
    /// The end of the measured window: echoes that come back later (while the streams drain) are checked
    /// but not counted.
    var measuredUntil: UInt64 { window.measuredUntil }

    public init(reactor: Reactor, options: EchoLoadOptions, progress: LoadProgress) {
        self.reactor = reactor
        self.options = options
        self.progress = progress
        self.pattern = PatternBlock()
        self.window = LoadWindow(reactor: reactor, progress: progress, deadline: options.deadline)
    }

    public func start() {
        streams = options.streams.map { EchoStream(id: $0, worker: self) }
        // The deadline, or an early stop: send nothing new, close each stream once its echo is back.
        window.start(streams: streams.count) { [unowned self] _ in
            for stream in self.streams { stream.drain() }
        }
        for stream in streams { stream.open() }
    }

    public func run() throws -> LoadReport {
        try reactor.run()
        report.nanoseconds = window.measuredNanoseconds
        return report
    }
}

@available(*, unavailable)
extension EchoLoadWorker: Sendable {}

/// One echo stream: sends pattern chunks within the window, checks every byte that comes back.
private final class EchoStream: ClientExchange {
    let id: Int
    /// "stream 1" for id 0: streams are numbered from 1 in messages, as connections are.
    private var label: String { "stream \(id + 1)" }
    private unowned let worker: EchoLoadWorker
    private lazy var connection = ClientConnection(
        reactor: worker.reactor,
        options: worker.options.client,
        exchange: self
    )
    private var draining = false
    /// Bytes sent and received; the echo must equal the pattern from offset 0.
    private var sent = 0
    private var received = 0
    /// Echoed bytes that came back inside the measured window: none means the server never served this
    /// stream (one client at a time, a full backlog), which fails the run.
    private var receivedInWindow = 0
    /// Bytes of the current chunk still to send.
    private var chunkRemaining = 0
    /// Send time of each chunk in flight, keyed by the stream offset where the chunk ends.
    private var inFlight: [(end: Int, sentAt: UInt64)] = []
    private var inFlightHead = 0

    init(id: Int, worker: EchoLoadWorker) {
        self.id = id
        self.worker = worker
    }

    func open() {
        connection.open(worker.options.target)
    }

    var awaiting: String { "echo (\(received) of \(sent) bytes back)" }

    func connected(_ connection: ClientConnection, in reactor: Reactor) throws(ClientFailure) {
        if closeIfDrained() { return }
        try send()
    }

    func readable(_ connection: ClientConnection, in reactor: Reactor) throws(ClientFailure) {
        let buffer = worker.readBuffer.bytes
        for _ in 0..<4 {
            guard let count = try connection.read(into: buffer) else { break }
            if count == 0 {
                throw ClientFailure.closedEarly(
                    peer: connection.peer,
                    reason: "server closed the connection after echoing \(received) bytes"
                )
            }
            guard verify(UnsafeRawBufferPointer(rebasing: buffer[0..<count])) else {
                throw ClientFailure.mismatch("echo differs from what was sent near byte \(received)")
            }
            received += count
            let now = reactor.now
            if now < worker.measuredUntil {
                receivedInWindow += count
                worker.report.bytesReceived += count
                worker.progress.bytesReceived.wrappingAdd(count, ordering: .relaxed)
            }
            completeChunks(at: now)
            if count < buffer.count { break }
        }
        if closeIfDrained() { return }
        try send()
    }

    func writable(_ connection: ClientConnection, in reactor: Reactor) throws(ClientFailure) {
        if closeIfDrained() { return }
        try send()
    }

    /// Sends while the window allows; asks for writability only when the kernel is full.
    private func send() throws(ClientFailure) {
        let options = worker.options
        while true {
            if chunkRemaining == 0 {
                guard !draining, sent - received + options.chunkSize <= options.window else { break }
                chunkRemaining = options.chunkSize
                inFlight.append((sent + options.chunkSize, MonotonicClock.now()))
            }
            let length = min(chunkRemaining, PayloadPattern.period)
            let written = try connection.write(
                UnsafeRawBufferPointer(start: worker.pattern.pointer(stream: id, offset: sent), count: length)
            )
            guard written > 0 else {
                connection.setInterest([.readable, .writable])
                return
            }
            sent += written
            chunkRemaining -= written
            worker.report.bytesSent += written
        }
        connection.setInterest(.readable)
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
    func drain() {
        draining = true
        if connection.phase == .dialing {
            // Otherwise the run would outlast --duration by up to the connect timeout.
            connection.fail(ClientFailure(kind: .timedOut, message: "connect not finished when the run ended"))
            return
        }
        _ = closeIfDrained()
    }

    /// After the deadline, a connected stream with everything back is done (also one whose handshake
    /// finished only after the deadline, which never sent anything).
    private func closeIfDrained() -> Bool {
        guard draining, connection.phase == .connected, received == sent, chunkRemaining == 0 else { return false }
        connection.close()
        return true
    }

    func finished(_ connection: ClientConnection, failure: ClientFailure?, in reactor: Reactor) {
        let failure =
            failure
            ?? (receivedInWindow == 0
                ? ClientFailure.starved("no echo came back during the run (\(sent) bytes sent to \(connection.peer))")
                : nil)
        worker.report.streams.append(
            StreamReport(stream: id + 1, bytesSent: sent, bytesReceived: receivedInWindow, failure: failure)
        )
        if let failure {
            worker.report.fail(failure.labelled(label))
            worker.progress.failed.wrappingAdd(1, ordering: .relaxed)
        }
        worker.window.streamClosed(in: reactor)
    }
}
