// AppConnection.swift -- one client of `serve app`: read one request, answer it, close cleanly.
//
// Phases: reading -> (working) -> writing -> (lingering) -> closed. Bad input gets a framed
// {"result": "Error: ..."} where the framing allows, and costs only this connection.

/// Settings for `serve app`.
public struct AppOptions: Sendable {
    /// Largest content-length accepted; larger requests are refused as soon as the header arrives.
    public var maxContentLength: Int
    /// The whole exchange (request in, response out) must finish within this, or the connection is cut.
    public var requestTimeout: Duration
    /// After the response, how long unread input is drained before closing (so the close is a FIN, not a
    /// RST that could destroy the response in the client's receive queue).
    public var lingerTimeout: Duration
    /// Most request and queued response bytes held across all connections at once (see RequestBudget).
    public var maxBufferedBytes: Int
    /// Threads that answer the requests too large for the loop (see RequestWorkers).
    public var workerThreads: Int
    /// Tests only: run on a worker thread before it answers each request (to hold it there).
    public var beforeEachWorkerJob: (@Sendable () -> Void)?

    public init(
        maxContentLength: Int = FrameDecoder.defaultMaximumContentLength,
        requestTimeout: Duration = .seconds(10),
        lingerTimeout: Duration = .seconds(2),
        maxBufferedBytes: Int? = nil,
        workerThreads: Int? = nil
    ) {
        self.maxContentLength = maxContentLength
        self.requestTimeout = requestTimeout
        self.lingerTimeout = lingerTimeout
        self.maxBufferedBytes = maxBufferedBytes ?? RequestBudget.defaultLimit(maxContentLength: maxContentLength)
        self.workerThreads = workerThreads ?? RequestWorkers.defaultThreadCount()
    }
}

/// Serves one request on one connection.
final class AppConnection: ServedConnection, DeadlineOwner {
    private enum Phase {
        /// Waiting for a whole request.
        case reading
        /// The request is whole and with a worker thread; its input is not read meanwhile.
        case working
        /// Sending the response.
        case writing
        /// Response sent and write side shut: discarding input until the client closes.
        case lingering
        case closed
    }

    private let socket: Socket
    let descriptor: CInt
    private let peerAddress: SocketAddress
    /// `host:port`, made the first time a line shows it: a quiet server never formats it.
    private lazy var peer = peerAddress.description
    /// Its deadline and its close go to the server; everything else it shares is in `loop`.
    private unowned let server: ConnectionServer
    private let loop: AppLoopContext
    /// The part of `loop.budget` this connection holds.
    private var heldBytes = 0
    /// The request while a worker has it.
    private var job: RequestWorkers.Job?
    private var phase = Phase.reading
    private var decoder: FrameDecoder
    /// Only a response the kernel did not take at once is queued here (rare), so it is made on demand.
    private lazy var response = OutboundBuffer(retainedCapacity: 0)
    /// The linger deadline after a response (the request deadline is the server's DeadlineQueue).
    /// Made only for a connection that lingers (rare): most close as soon as the response is out.
    private var linger: ReactorDeadline?
    /// Bytes of the request read so far, for the timeout message.
    private var requestBytes = 0
    /// Bytes discarded while lingering; past a limit the connection is closed anyway.
    private var lingerDiscarded = 0
    /// Set only while `readRequest` runs, after a read that left the kernel's receive queue empty (it took
    /// less than the buffer): a response sent from there needs no second read to know nothing more came.
    private var inputQueueJustDrained = false
    private static let lingerDiscardLimit = 1 << 20

    init(socket: Socket, peer: SocketAddress, server: ConnectionServer, loop: AppLoopContext) {
        self.socket = socket
        self.descriptor = socket.descriptor
        self.peerAddress = peer
        self.server = server
        self.loop = loop
        self.decoder = FrameDecoder(maximumContentLength: loop.options.maxContentLength)
    }

    func start(in reactor: Reactor) {
        loop.log.accepted(peer)
        do {
            try reactor.register(socket, interest: .readable, handler: self)
        } catch {
            loop.stats.count(.io)
            reportError("\(error)", in: reactor)
            close(in: reactor)
            return
        }
        server.setDeadline(for: self, afterNanoseconds: loop.requestTimeoutNanoseconds)
    }

    func readable(in reactor: Reactor) {
        switch phase {
        case .reading: readRequest(in: reactor)
        case .lingering: discardInput(in: reactor)
        case .working, .writing, .closed: break
        }
    }

    func writable(in reactor: Reactor) {
        guard phase == .writing else { return }
        flushResponse(in: reactor)
    }

    // MARK: - Reading

    private func readRequest(in reactor: Reactor) {
        let result: IOResult<Int>
        do {
            result = try socket.read(into: loop.readBuffer.bytes)
        } catch {
            loop.stats.count(.io)
            reportError("\(error.call): \(error.errno)", in: reactor)
            close(in: reactor)
            return
        }
        guard case .processed(let count) = result else { return }
        inputQueueJustDrained = count < loop.readBuffer.bytes.count
        defer { inputQueueJustDrained = false }
        if count == 0 {
            endOfRequestStream(in: reactor)
            return
        }
        loop.stats.received(count)
        guard loop.budget.take(count) else {
            loop.stats.count(.overBudget)
            let limit = NumberFormat.bytes(loop.budget.limit)
            refuse(
                "the server holds as many request bytes as it may (--max-buffered \(limit)); try again.",
                in: reactor
            )
            return
        }
        heldBytes += count
        requestBytes += count
        let input = UnsafeRawBufferPointer(rebasing: loop.readBuffer.bytes[0..<count])
        // The guide's every request: one read brings it whole, and the table answers it.
        if decoder.isAtMessageBoundary,
            let search = AppProtocol.wholeTableSearch(in: input, maximumContentLength: decoder.maximumContentLength)
        {
            answer(search, in: reactor)
            return
        }
        do {
            guard let frame = try decoder.next(feeding: input) else { return }
            answer(frame, in: reactor)
        } catch {
            loop.stats.count(.badRequest)
            refuse(error.description, in: reactor)
        }
    }

    /// The client closed (or half-closed) its side before a whole request arrived.
    private func endOfRequestStream(in reactor: Reactor) {
        if decoder.isAtMessageBoundary {
            close(in: reactor)  // connected and left without a word: nothing to answer
            return
        }
        do {
            try decoder.finish()
        } catch {
            // The client may only have shut its write side: it can still read why its request failed.
            loop.stats.count(.badRequest)
            refuse(error.description, in: reactor)
        }
    }

    private func answer(_ frame: Frame, in reactor: Reactor) {
        loop.log.frameLayout(
            .requestIn,
            peer: peer,
            headerLength: decoder.lastHeaderLength,
            contentLength: frame.content.count
        )
        let header = frame.header
        if loop.workers.mayAnswerInline(frame, in: reactor) {
            deliver(AppAnswer.make(for: frame), header: header, in: reactor)
            return
        }
        do {
            job = try loop.workers.enqueue(frame) { [weak self] answer, reactor in
                self?.job = nil
                self?.deliver(answer, header: header, in: reactor)
            }
        } catch {
            loop.stats.count(.io)
            reportError("\(error)", in: reactor)
            close(in: reactor)
            return
        }
        // Answered later: until then nothing more is read from this client.
        phase = .working
        reactor.setInterest(.none, for: descriptor)
    }

    /// A table search found whole in the read buffer: answered on the loop with the table's encoded response,
    /// no frame made. (It needs no share of the turn's inline budget: its work is a few comparisons.)
    private func answer(_ search: AppProtocol.WholeTableSearch, in reactor: Reactor) {
        loop.log.frameLayout(
            .requestIn,
            peer: peer,
            headerLength: search.headerLength,
            contentLength: search.contentLength
        )
        deliver(
            AppAnswer(tableSearch: search.index),
            header: .guideSearch(contentLength: search.contentLength),
            in: reactor
        )
    }

    /// Sends the answer a worker (or the loop itself) made. The request's bytes are no longer held.
    private func deliver(_ answer: AppAnswer, header: FrameHeader, in reactor: Reactor) {
        guard phase == .reading || phase == .working else { return }
        loop.budget.release(heldBytes)
        heldBytes = 0
        if let reason = answer.refusal {
            loop.stats.count(.badRequest)
            reportError(reason, in: reactor)
        } else {
            loop.stats.requestAnswered()
            // Asked for only when the line is shown: a search the table answered has no document until then.
            if loop.log.wants(.normal), let request = answer.request {
                loop.log.received(request, header: header, from: peer)
            }
        }
        send(answer.response, contentLength: answer.responseContentLength, in: reactor)
    }

    /// Bad input: one log line, a framed error reply, and a clean close of this connection only.
    private func refuse(_ reason: String, in reactor: Reactor) {
        reportError(reason, in: reactor)
        let frame = AppProtocol.resultFrame("Error: \(reason)")
        send(frame.encoded(), contentLength: frame.content.count, in: reactor)
    }

    private func reportError(_ reason: String, in reactor: Reactor) {
        loop.log.connectionError(reason, peer: peer)
    }

    // MARK: - Writing

    /// Sends an encoded response frame (`contentLength` is its content's length, for the log).
    private func send(_ bytes: [UInt8], contentLength: Int, in reactor: Reactor) {
        phase = .writing
        loop.log.sending(bytes, to: peer)
        loop.log.frameLayout(
            .responseOut,
            peer: peer,
            headerLength: FrameEncoder.announcedHeaderLength(bytes),
            contentLength: contentLength
        )
        // Write straight from the encoded bytes; only what the kernel does not take is copied and queued.
        var written = 0
        defer { loop.stats.sent(written) }
        do {
            if case .processed(let count) = try bytes.withUnsafeBytes({ try writeResponse($0) }) {
                written = count
            }
        } catch {
            loop.stats.count(.io)
            reportError("\(error)", in: reactor)
            close(in: reactor)
            return
        }
        guard written < bytes.count else {
            responseSent(in: reactor)
            return
        }
        guard loop.budget.take(bytes.count - written) else {
            loop.stats.count(.overBudget)
            reportError("response not queued: the server holds as many bytes as it may (--max-buffered).", in: reactor)
            close(in: reactor)
            return
        }
        heldBytes += bytes.count - written
        bytes.withUnsafeBytes { response.append(UnsafeRawBufferPointer(rebasing: $0[written...])) }
        inputQueueJustDrained = false  // the rest goes out in a later turn: check then
        reactor.setInterest(.writable, for: descriptor)
    }

    /// Writes response bytes. The close (or shutdown) follows as soon as the kernel took them all, so the last
    /// segment is held for the FIN (MSG_MORE, see `Socket.writeBeforeClose`): one segment, not two. -v reads
    /// TCP_INFO just before the close, and a held reply would read as not sent: there it goes out at once, and
    /// the FIN follows in a segment of its own, as from the guide's server.
    private func writeResponse(_ bytes: UnsafeRawBufferPointer) throws(SystemError) -> IOResult<Int> {
        loop.log.wants(.verbose) ? try socket.write(bytes) : try socket.writeBeforeClose(bytes)
    }

    private func flushResponse(in reactor: Reactor) {
        do {
            while !response.isEmpty {
                guard case .processed(let written) = try writeResponse(response.readableBytes) else {
                    reactor.setInterest(.writable, for: descriptor)
                    return
                }
                loop.stats.sent(written)
                response.consume(written)
            }
        } catch {
            loop.stats.count(.io)
            reportError("\(error.call): \(error.errno)", in: reactor)
            close(in: reactor)
            return
        }
        responseSent(in: reactor)
    }

    /// Closes cleanly: if the client sent nothing beyond its request, close now (a FIN); otherwise shut the
    /// write side and drain its input until it closes, so the close cannot turn into a RST.
    private func responseSent(in reactor: Reactor) {
        if decoder.bufferedByteCount == 0 {
            // The read that brought the request emptied the queue a moment ago (the usual case): close. This
            // saves a system call per request; a byte sent in these microseconds would still turn the close
            // into a RST, as it would a moment after any close.
            if inputQueueJustDrained {
                close(in: reactor)
                return
            }
            switch try? socket.read(into: loop.readBuffer.bytes) {
            case .wouldBlock, .processed(0):
                close(in: reactor)
                return
            default:
                break
            }
        }
        phase = .lingering
        try? socket.shutdown(.write)
        reactor.setInterest(.readable, for: descriptor)
        let linger = self.linger ?? ReactorDeadline(reactor: reactor, owner: self)
        self.linger = linger
        linger.arm(after: loop.options.lingerTimeout, movingWithProgress: false)
    }

    private func discardInput(in reactor: Reactor) {
        for _ in 0..<4 {
            switch try? socket.read(into: loop.readBuffer.bytes) {
            case .wouldBlock:
                return
            case .processed(let count) where count > 0:
                loop.stats.received(count)
                lingerDiscarded += count
                if lingerDiscarded > Self.lingerDiscardLimit {
                    close(in: reactor)
                    return
                }
            default:  // end of stream or error: the client is done
                close(in: reactor)
                return
            }
        }
    }

    // MARK: - Deadlines and closing

    func deadlinePassed(in reactor: Reactor) {
        switch phase {
        case .reading:
            loop.stats.count(.timeout)
            let seconds = NumberFormat.fixed(Double(loop.options.requestTimeout.nanoseconds) / 1e9, decimals: 1)
            refuse("request not complete after \(seconds) s (\(requestBytes) bytes received).", in: reactor)
        case .working:
            loop.stats.count(.timeout)
            if let job { loop.workers.cancel(job) }
            job = nil
            let seconds = NumberFormat.fixed(Double(loop.options.requestTimeout.nanoseconds) / 1e9, decimals: 1)
            refuse("request not answered within \(seconds) s: the server is busy with large requests.", in: reactor)
        case .writing:
            loop.stats.count(.timeout)
            reportError("client did not read the response within the request timeout", in: reactor)
            close(in: reactor)
        case .lingering, .closed:
            close(in: reactor)
        }
    }

    /// The linger after the response is over: close whatever the client still sends.
    func deadlinePassed(_ deadline: ReactorDeadline, in reactor: Reactor) {
        close(in: reactor)
    }

    func finishForShutdown(in reactor: Reactor) {
        // Nothing received yet: nothing in flight. Otherwise the request, response and linger finish
        // within the grace period.
        if phase == .reading && decoder.isAtMessageBoundary { close(in: reactor) }
    }

    func closeNow(in reactor: Reactor) {
        close(in: reactor)
    }

    private func close(in reactor: Reactor) {
        guard phase != .closed else { return }
        phase = .closed
        loop.budget.release(heldBytes)
        heldBytes = 0
        if let job { loop.workers.cancel(job) }
        job = nil
        linger?.cancel()
        loop.log.closing(peer)
        loop.log.tcpSummary(of: socket, side: .server, peer: peer)
        reactor.deregister(socket)
        socket.close()
        server.connectionClosed(self, descriptor: descriptor)
    }
}
