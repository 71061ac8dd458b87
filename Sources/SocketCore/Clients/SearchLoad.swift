// SearchLoad.swift -- `search --count/--duration`: app requests on `concurrency` connections at a time,
// one request per connection like the guide's client, every response decoded and checked.

/// Settings of a search load run on one worker.
public struct SearchLoadOptions: Sendable {
    /// Where each request connects (every address tried, in Happy Eyeballs order).
    public var target: DialTarget
    /// The request every connection sends.
    public var request: Frame
    /// Requests in flight at once on this worker.
    public var concurrency: Int
    /// Stop after this many requests in all (shared between workers), or at the deadline.
    public var count: Int?
    /// When to stop starting requests (MonotonicClock ns).
    public var deadline: UInt64
    /// The handshake's deadline, and the request's (a request not answered this long after its handshake fails).
    public var client: ClientOptions
    public var maximumContentLength: Int

    public init(
        target: DialTarget,
        request: Frame,
        concurrency: Int,
        count: Int?,
        deadline: UInt64,
        client: ClientOptions,
        maximumContentLength: Int
    ) {
        self.target = target
        self.request = request
        self.concurrency = concurrency
        self.count = count
        self.deadline = deadline
        self.client = client
        self.maximumContentLength = maximumContentLength
    }
}

/// One thread's request slots.
public final class SearchLoadWorker: LoadWorker {
    let reactor: Reactor
    let options: SearchLoadOptions
    let progress: LoadProgress
    let requestBytes: [UInt8]
    /// What the server must answer, compared as content type and content (byteorder may differ by machine).
    let expected: Frame
    let readBuffer = ReadBuffer(size: 64 * 1024)
    var report = LoadReport()
    private var started: UInt64 = 0
    private var slots: [RequestSlot] = []

    public init(reactor: Reactor, options: SearchLoadOptions, progress: LoadProgress) {
        self.reactor = reactor
        self.options = options
        self.progress = progress
        self.requestBytes = options.request.encoded()
        let parsed = try? AppProtocol.request(from: options.request)
        self.expected = AppProtocol.response(to: parsed ?? .binary(contentType: "", content: []))
    }

    public func start() {
        started = MonotonicClock.now()
        slots = (0..<options.concurrency).map { _ in RequestSlot(worker: self) }
        for slot in slots { slot.next() }
    }

    public func run() throws -> LoadReport {
        try reactor.run()
        report.nanoseconds = MonotonicClock.now() &- started
        return report
    }

    /// True while new requests may start.
    func mayStart() -> Bool {
        guard !progress.stopping.load(ordering: .relaxed), MonotonicClock.now() < options.deadline else { return false }
        guard progress.claim(limit: options.count) else {
            progress.stopping.store(true, ordering: .relaxed)
            return false
        }
        return true
    }
}

@available(*, unavailable)
extension SearchLoadWorker: Sendable {}

/// One request at a time: connect, send, read the whole response, check it, close, start the next. The slot
/// and its connection live for the whole run; each request is one life of the connection.
private final class RequestSlot: ClientExchange, DeadlineOwner {
    private unowned let worker: SearchLoadWorker
    private lazy var connection = ClientConnection(
        reactor: worker.reactor,
        options: worker.options.client,
        timeoutScope: .wholeExchange,
        exchange: self
    )
    /// The pause after a failure that is not the server's answer, so a refusing server is not hammered.
    private lazy var backOff = ReactorDeadline(reactor: worker.reactor, owner: self)
    private var sent = 0
    private var decoder: FrameDecoder
    private var startedAt: UInt64 = 0

    init(worker: SearchLoadWorker) {
        self.worker = worker
        self.decoder = FrameDecoder(maximumContentLength: worker.options.maximumContentLength)
    }

    /// Starts the next request if the run is not over.
    func next() {
        guard worker.mayStart() else { return }
        startedAt = MonotonicClock.now()
        sent = 0
        decoder = FrameDecoder(maximumContentLength: worker.options.maximumContentLength)
        connection.open(worker.options.target)
    }

    var awaiting: String { sent < worker.requestBytes.count ? "sending the request" : "the whole response" }

    func connected(_ connection: ClientConnection, in reactor: Reactor) throws(ClientFailure) {
        try send(on: connection)
    }

    func writable(_ connection: ClientConnection, in reactor: Reactor) throws(ClientFailure) {
        try send(on: connection)
    }

    private func send(on connection: ClientConnection) throws(ClientFailure) {
        let bytes = worker.requestBytes
        while sent < bytes.count {
            let written = try connection.write(bytes, from: sent)
            guard written > 0 else {
                connection.setInterest(.writable)
                return
            }
            sent += written
        }
        worker.report.bytesSent += sent
        connection.setInterest(.readable)
    }

    func readable(_ connection: ClientConnection, in reactor: Reactor) throws(ClientFailure) {
        let buffer = worker.readBuffer.bytes
        guard let count = try connection.read(into: buffer) else { return }
        if count == 0 {
            do {
                try decoder.finish()
            } catch {
                throw ClientFailure.closedEarly(peer: connection.peer, reason: error.description(peer: "server"))
            }
            throw ClientFailure.closedEarly(
                peer: connection.peer,
                reason: "server closed the connection without a response"
            )
        }
        worker.report.bytesReceived += count
        worker.progress.bytesReceived.wrappingAdd(count, ordering: .relaxed)
        decoder.feed(UnsafeRawBufferPointer(rebasing: buffer[0..<count]))
        let frame: Frame?
        do {
            frame = try decoder.next()
        } catch {
            throw ClientFailure.protocolViolation(peer: connection.peer, reason: error.description, frameError: error)
        }
        guard let frame else { return }
        let expected = worker.expected
        guard frame.header.contentType == expected.header.contentType, frame.content == expected.content else {
            throw ClientFailure.mismatch("unexpected response: \(ByteNotation.format(frame.content))")
        }
        connection.close()
    }

    func finished(_ connection: ClientConnection, failure: ClientFailure?, in reactor: Reactor) {
        let progress = worker.progress
        guard let failure else {
            worker.report.latency.record(MonotonicClock.now() &- startedAt)
            worker.report.completed += 1
            progress.completed.wrappingAdd(1, ordering: .relaxed)
            next()
            return
        }
        worker.report.fail(failure)
        progress.failed.wrappingAdd(1, ordering: .relaxed)
        if failure.kind.isTheServersAnswer {
            next()
        } else {
            // The server is not taking connections: back off a little instead of spinning on connect().
            backOff.arm(after: .milliseconds(1), movingWithProgress: false)
        }
    }

    func deadlinePassed(_ deadline: ReactorDeadline, in reactor: Reactor) {
        next()
    }
}
