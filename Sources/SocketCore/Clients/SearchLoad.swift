// SearchLoad.swift -- `search --count/--duration`: app requests on `concurrency` connections at a time,
// one request per connection like the guide's client, every response decoded and checked.

/// Settings of a search load run on one worker.
public struct SearchLoadOptions: Sendable {
    public var address: SocketAddress
    /// The request every connection sends.
    public var request: Frame
    /// Requests in flight at once on this worker.
    public var concurrency: Int
    /// Stop after this many requests in all (shared between workers), or at the deadline.
    public var count: Int?
    /// When to stop starting requests (MonotonicClock ns).
    public var deadline: UInt64
    /// A handshake that takes longer fails.
    public var connectTimeout: Duration
    /// A request that takes longer than this after the handshake fails.
    public var timeout: Duration
    public var maximumContentLength: Int

    public init(
        address: SocketAddress,
        request: Frame,
        concurrency: Int,
        count: Int?,
        deadline: UInt64,
        connectTimeout: Duration,
        timeout: Duration,
        maximumContentLength: Int
    ) {
        self.address = address
        self.request = request
        self.concurrency = concurrency
        self.count = count
        self.deadline = deadline
        self.connectTimeout = connectTimeout
        self.timeout = timeout
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
        for _ in 0..<options.concurrency { RequestSlot(worker: self).next(in: reactor) }
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

/// One request at a time: connect, send, read the whole response, check it, close, start the next.
private final class RequestSlot: SocketHandler {
    private unowned let worker: SearchLoadWorker
    private var socket: Socket?
    private var connecting = false
    private var sent = 0
    private var decoder: FrameDecoder
    private var startedAt: UInt64 = 0
    private var timer: ReactorTimer?

    init(worker: SearchLoadWorker) {
        self.worker = worker
        self.decoder = FrameDecoder(maximumContentLength: worker.options.maximumContentLength)
    }

    /// Starts the next request if the run is not over.
    func next(in reactor: Reactor) {
        guard worker.mayStart() else { return }
        startedAt = MonotonicClock.now()
        sent = 0
        decoder = FrameDecoder(maximumContentLength: worker.options.maximumContentLength)
        do {
            let (socket, result) = try Dialer.start(to: worker.options.address)
            self.socket = socket
            connecting = result == .inProgress
            try reactor.register(socket, interest: .writable, handler: self)
        } catch {
            finish(failure: (LoadReport.kind(of: error), "\(error)"), in: reactor)
            return
        }
        armTimer(in: reactor)
    }

    /// The handshake has --connect-timeout; the request, once connected, --timeout.
    private func armTimer(in reactor: Reactor) {
        let limit = connecting ? worker.options.connectTimeout : worker.options.timeout
        let what = connecting ? "connect did not finish in time" : "no whole response within the timeout"
        timer = reactor.schedule(after: limit) { [unowned self] reactor in
            self.timer = nil
            self.finish(failure: ("timeout", what), in: reactor)
        }
    }

    func writable(in reactor: Reactor) {
        guard let socket else { return }
        do {
            if connecting {
                try socket.finishConnect(to: worker.options.address)
                connecting = false
                if let timer { reactor.cancel(timer) }
                armTimer(in: reactor)
            }
            let bytes = worker.requestBytes
            while sent < bytes.count {
                let result = try bytes.withUnsafeBytes { raw in
                    try socket.write(UnsafeRawBufferPointer(rebasing: raw[sent...]))
                }
                guard case .processed(let written) = result else { return }
                sent += written
            }
        } catch let error as SystemError {
            finish(failure: (LoadReport.kind(of: error), "\(error)"), in: reactor)
            return
        } catch {
            finish(failure: ("other", "\(error)"), in: reactor)
            return
        }
        worker.report.bytesSent += sent
        reactor.setInterest(.readable, for: socket)
    }

    func readable(in reactor: Reactor) {
        guard let socket else { return }
        if connecting {
            writable(in: reactor)
            return
        }
        let buffer = worker.readBuffer.bytes
        do {
            guard case .processed(let count) = try socket.read(into: buffer) else { return }
            if count == 0 {
                do {
                    try decoder.finish()
                    finish(failure: ("closed_early", "server closed the connection without a response"), in: reactor)
                } catch {
                    finish(failure: ("closed_early", error.description(peer: "server")), in: reactor)
                }
                return
            }
            worker.report.bytesReceived += count
            worker.progress.bytesReceived.wrappingAdd(count, ordering: .relaxed)
            decoder.feed(UnsafeRawBufferPointer(rebasing: buffer[0..<count]))
            guard let frame = try decoder.next() else { return }
            let expected = worker.expected
            guard frame.header.contentType == expected.header.contentType, frame.content == expected.content else {
                finish(failure: ("mismatch", "unexpected response: \(ByteNotation.format(frame.content))"), in: reactor)
                return
            }
            finish(failure: nil, in: reactor)
        } catch let error as SystemError {
            finish(failure: (LoadReport.kind(of: error), "\(error)"), in: reactor)
        } catch {
            finish(failure: ("protocol", "\(error)"), in: reactor)
        }
    }

    private func finish(failure: (kind: String, message: String)?, in reactor: Reactor) {
        if let timer { reactor.cancel(timer) }
        timer = nil
        if let socket {
            reactor.deregister(socket)
            socket.close()
            self.socket = nil
        }
        let progress = worker.progress
        if let failure {
            worker.report.fail(failure.kind, failure.message)
            progress.failed.wrappingAdd(1, ordering: .relaxed)
            if failure.kind != "mismatch" && failure.kind != "protocol" && failure.kind != "closed_early" {
                // The server is not taking connections: back off a little instead of spinning on connect().
                reactor.schedule(after: .milliseconds(1)) { [self] reactor in self.next(in: reactor) }
                return
            }
        } else {
            worker.report.latency.record(MonotonicClock.now() &- startedAt)
            worker.report.completed += 1
            progress.completed.wrappingAdd(1, ordering: .relaxed)
        }
        next(in: reactor)
    }
}
