// FloodExperiment.swift -- `flood`: the guide's buffer-fill experiment, either whole in this process (a
// receiver that never reads, on a loopback port of its own) or as the sender against any server.

/// Sets up the sockets, runs the flood, and reads the result while the sockets are still open.
public enum FloodExperiment {
    /// The one-command demo: a receiver on 127.0.0.1 (a free port) that accepts and never reads (or reads at
    /// `options.drainRate`), and a sender that floods it.
    ///
    /// - Parameters:
    ///   - options: Chunk, buffers, timing, drain.
    ///   - display: Where the lines and the live progress go.
    ///   - signals: The pipe SIGINT/SIGTERM arrive on (the caller installs them); nil in tests.
    ///   - beforeClose: Called with the report while both sockets are still open, so their queues can be
    ///     compared with `ss` or /proc/net/tcp (and `--hold` can wait there).
    /// - Returns: The report.
    /// - Throws: `SystemError` when setting up fails (socket, setsockopt, bind, connect), or what
    ///   `beforeClose` throws.
    public static func runLocal(
        options: FloodOptions,
        display: FloodDisplay,
        signals: SignalPipe? = nil,
        beforeClose: (FloodReport) throws -> Void = { _ in }
    ) throws -> FloodReport {
        let limits = KernelBufferLimits.current()
        let (sender, receiver, address) = try openLoopbackPair(options: options, display: display)
        defer {
            closeSender(sender)
            receiver.close()
        }
        let receiveBuffer = (try? receiver.receiveBufferSize()) ?? 0
        let sendBuffer = (try? sender.sendBufferSize()) ?? 0
        announceBuffers(options: options, sendBuffer: sendBuffer, receiveBuffer: receiveBuffer, display: display)
        let reader =
            options.drainRate.map { "reads \(NumberFormat.bytes($0))/s" } ?? "never calls recv()"
        let (run, ending) = flood(
            from: sender,
            to: address,
            receiver: .socket(receiver),
            drainingWith: options.drainRate.map { rate in { FloodDrain(socket: receiver, rate: rate, now: $0) } },
            announcing: "Sending \(NumberFormat.grouped(options.chunkSize))-byte chunks to \(address) without "
                + "blocking, until the kernel says EAGAIN; the receiver \(reader).",
            options: options,
            display: display,
            signals: signals
        )
        var report = finish(run, ending: ending, isLocalDemo: true, limits: limits)
        let receiverRole = options.drainRate == nil ? "receiver (never reads)" : "receiver (reads slowly)"
        if let row = try? QueueTableRow.read(receiver, role: receiverRole) {
            report.rows.insert(row, at: 0)
            report.receiveQueue = row.receiveQueue
            report.receiverSendQueue = row.sendQueue
        }
        report.receiveBuffer = BufferSetting(
            requested: options.receiveBufferSize,
            atStart: receiveBuffer,
            atEnd: (try? receiver.receiveBufferSize()) ?? receiveBuffer
        )
        try beforeClose(report)
        return report
    }

    /// The sender against a server: `flood HOST PORT`. When the server runs on this machine its socket is
    /// found in /proc/net/tcp, so its Recv-Q is shown too (as netstat would).
    ///
    /// - Throws: `ClientFailure` from connect (refused, timed out, ...) for the last address tried.
    public static func run(
        against target: DialTarget,
        options: FloodOptions,
        display: FloodDisplay,
        signals: SignalPipe? = nil,
        beforeClose: (FloodReport) throws -> Void = { _ in }
    ) throws -> FloodReport {
        let limits = KernelBufferLimits.current()
        display.event(
            "connecting",
            text: "Starting connection to \(target.first)",
            fields: [("peer", .string(target.first.description))]
        )
        let (sender, address) = try connectSender(to: target, options: options)
        defer { closeSender(sender) }
        let local = try sender.localAddress()
        let view: ReceiverView =
            KernelTCPTable.entry(local: address, remote: local) != nil
            ? .kernelTable(local: address, remote: local) : .hidden
        display.event(
            "connected",
            text: "Connected from \(local) to \(address)",
            fields: [("local", .string(local.description)), ("peer", .string(address.description))]
        )
        let sendBuffer = (try? sender.sendBufferSize()) ?? 0
        announceBuffers(options: options, sendBuffer: sendBuffer, receiveBuffer: nil, display: display)
        let (run, ending) = flood(
            from: sender,
            to: address,
            receiver: view,
            drainingWith: nil,
            announcing: "Sending \(NumberFormat.grouped(options.chunkSize))-byte chunks without blocking, "
                + "until the kernel says EAGAIN.",
            options: options,
            display: display,
            signals: signals
        )
        var report = finish(run, ending: ending, isLocalDemo: false, limits: limits)
        if case .kernelTable = view, let entry = KernelTCPTable.entry(local: address, remote: local) {
            let row = QueueTableRow(entry: entry, local: address, foreign: local, role: "receiver (another process)")
            report.rows.insert(row, at: 0)
            report.receiveQueue = row.receiveQueue
            report.receiverSendQueue = row.sendQueue
        }
        try beforeClose(report)
        return report
    }

    // MARK: - Running

    /// Says what is about to happen, then floods until saturation, the duration's end or a signal.
    private static func flood(
        from sender: Socket,
        to address: SocketAddress,
        receiver: ReceiverView,
        drainingWith makeDrain: ((UInt64) -> FloodDrain)?,
        announcing text: String,
        options: FloodOptions,
        display: FloodDisplay,
        signals: SignalPipe?
    ) -> (FloodRun, FloodReport.Ending) {
        display.event(
            "sending",
            text: text,
            fields: [("chunk", .int(options.chunkSize)), ("peer", .string(address.description))]
        )
        let started = MonotonicClock.now()
        let run = FloodRun(
            sender: FloodSender(socket: sender, chunkSize: options.chunkSize, now: started),
            receiver: receiver,
            drain: makeDrain?(started),
            peer: address,
            options: options,
            display: display,
            started: started
        )
        return (run, run.run(signals: signals))
    }

    // MARK: - Setting up

    /// A listener on 127.0.0.1 with SO_RCVBUF set before listen (accepted sockets inherit it, and the window
    /// scale is chosen from it in the handshake), a sender with SO_SNDBUF set before connect, and the
    /// accepted receiver. The listener is closed once it has done its one job.
    private static func openLoopbackPair(
        options: FloodOptions,
        display: FloodDisplay
    ) throws -> (sender: Socket, receiver: Socket, address: SocketAddress) {
        let listener = try Socket.listening(
            on: SocketAddress(ipv4: "127.0.0.1", port: 0)!,
            backlog: 1,
            receiveBufferSize: options.receiveBufferSize
        )
        defer { listener.close() }
        let address = try listener.localAddress()
        display.event(
            "listening",
            level: .quiet,
            text: "Listening on \(address)",
            fields: [("address", .string(address.description)), ("port", .int(address.port))]
        )
        let (sender, _) = try connectSender(to: DialTarget(address), options: options)
        do {
            guard try listener.wait(for: .readable, timeout: options.connectTimeout) == .ready,
                let (receiver, peer) = try listener.accept()
            else {
                throw SystemError(errno: .timedOut, call: "accept", detail: address.description)
            }
            display.event(
                "accepted",
                text: "Accepted connection from \(peer)",
                fields: [("peer", .string(peer.description))]
            )
            return (sender, receiver, address)
        } catch {
            closeSender(sender)
            throw error
        }
    }

    /// Connects to the first address that answers, with SO_SNDBUF set before connect (so the handshake
    /// already reflects it) and Nagle left on (the flood wants full segments).
    ///
    /// - Throws: `ClientFailure` with the last address's error.
    static func connectSender(
        to target: DialTarget,
        options: FloodOptions
    ) throws -> (Socket, SocketAddress) {
        let client = ClientOptions(
            connectTimeout: options.connectTimeout,
            timeout: nil,
            sendBufferSize: options.sendBufferSize,
            noDelay: false
        )
        return try Dialer.connect(to: target, options: client)
    }

    /// Closes the sender with a reset (SO_LINGER 0). A plain close() would leave the unsent megabytes to the
    /// kernel, which keeps probing the receiver's zero window for minutes (FIN_WAIT1 in `ss`), long after
    /// sockettool has exited; the reset ends both sides at once, and the receiver sees why.
    private static func closeSender(_ socket: Socket) {
        guard socket.isOpen else { return }
        try? socket.setLingerZero()
        socket.close()
    }

    /// "SO_SNDBUF 8,192 on the sender (asked 4,096; the kernel doubles it) ...".
    private static func announceBuffers(
        options: FloodOptions,
        sendBuffer: Int,
        receiveBuffer: Int?,
        display: FloodDisplay
    ) {
        var text = "SO_SNDBUF \(NumberFormat.grouped(sendBuffer)) on the sender"
        if let asked = options.sendBufferSize {
            // Doubled, unless the kernel's minimum or wmem_max applied: the summary explains which.
            text += " (asked \(NumberFormat.grouped(asked))\(sendBuffer == 2 * asked ? "; the kernel doubles it" : ""))"
        }
        if let receiveBuffer {
            text += ", SO_RCVBUF \(NumberFormat.grouped(receiveBuffer)) on the receiver"
            text += options.receiveBufferSize.map { " (asked \(NumberFormat.grouped($0)))" } ?? ""
        }
        var fields: [(String, JSONValue)] = [
            ("sndbuf", .int(sendBuffer)), ("sndbuf_requested", options.sendBufferSize.map { .int($0) } ?? .null),
        ]
        if let receiveBuffer {
            fields.append(("rcvbuf", .int(receiveBuffer)))
            fields.append(("rcvbuf_requested", options.receiveBufferSize.map { .int($0) } ?? .null))
        }
        // Asked-for sizes are the point of the run: say at once what the kernel made of them.
        let asked = options.sendBufferSize != nil || (receiveBuffer != nil && options.receiveBufferSize != nil)
        display.event("buffers", level: asked ? .normal : .verbose, text: text + ".", fields: fields)
    }

    // MARK: - The result

    /// The report from the sender's side; the caller adds the receiver's row when it can see it.
    private static func finish(
        _ run: FloodRun,
        ending: FloodReport.Ending,
        isLocalDemo: Bool,
        limits: KernelBufferLimits
    ) -> FloodReport {
        let now = MonotonicClock.now()
        run.record(now: now)
        let sender = run.sender
        let socket = sender.socket
        display(ending: ending, run: run, now: now)
        let senderRow = try? QueueTableRow.read(socket, role: "sender (sockettool flood)")
        let sendBufferNow = (try? socket.sendBufferSize()) ?? 0
        let sendRate = steadySendRate(run, now: now, isLocalDemo: isLocalDemo)
        return FloodReport(
            isLocalDemo: isLocalDemo,
            local: (try? socket.localAddress()) ?? run.peer,
            peer: run.peer,
            chunkSize: run.options.chunkSize,
            bytesAccepted: sender.bytesAccepted,
            firstWouldBlockBytes: sender.firstWouldBlock?.bytes,
            firstWouldBlockNanoseconds: sender.firstWouldBlock.map { $0.at &- run.started },
            wouldBlockCount: sender.wouldBlockCount,
            sendQueue: senderRow?.sendQueue ?? 0,
            unsentBytes: (try? socket.unsentQueueBytes()) ?? 0,
            peerWindow: (try? socket.tcpInfo()).map { Int($0.peerWindow) },
            senderReceiveQueue: senderRow?.receiveQueue ?? 0,
            receiveQueue: nil,
            receiverSendQueue: nil,
            rows: senderRow.map { [$0] } ?? [],
            sendBuffer: BufferSetting(
                requested: run.options.sendBufferSize,
                atStart: run.initialSendBuffer,
                atEnd: sendBufferNow
            ),
            receiveBuffer: nil,
            limits: limits,
            nanoseconds: now &- run.started,
            ending: ending,
            quietPeriod: run.options.quietPeriod,
            drainRate: run.options.drainRate,
            drainedBytes: run.drain?.drainedBytes ?? 0,
            measuredDrainRate: run.drain.map { $0.measuredRate(now: now) },
            sendRateAfterFull: sendRate,
            samples: run.samples,
            plotPath: nil
        )
    }

    /// Bytes per second send() accepted once the first fill had settled (the quiet period after the first
    /// EAGAIN), when the receiver reads at all: the pace the receiver allows. The first fill itself is left
    /// out, or it would swamp the rate of a short run. nil for less than a second of data, or when the
    /// receiver is the demo's, which never reads.
    private static func steadySendRate(_ run: FloodRun, now: UInt64, isLocalDemo: Bool) -> Double? {
        guard run.drain != nil || !isLocalDemo, let first = run.sender.firstWouldBlock else { return nil }
        // Only a run that went on after the buffers were full says anything about the reader's pace.
        let from = first.at &- run.started &+ run.options.quietPeriod.nanoseconds
        guard let base = run.samples.first(where: { $0.nanoseconds >= from }) else { return nil }
        let seconds = Double(now &- run.started &- base.nanoseconds) / 1e9
        guard seconds >= 1 else { return nil }
        return Double(run.sender.bytesAccepted - base.bytesAccepted) / seconds
    }

    /// The line that says how the run ended.
    private static func display(ending: FloodReport.Ending, run: FloodRun, now: UInt64) {
        let display = run.display
        let accepted = NumberFormat.grouped(run.sender.bytesAccepted)
        let seconds = NumberFormat.fixed(Double(now &- run.started) / 1e9, decimals: 2)
        let times = run.sender.wouldBlockCount == 1 ? "once" : "\(run.sender.wouldBlockCount) times"
        let fields: [(String, JSONValue)] = [
            ("reason", .string(ending.name)), ("bytes_accepted", .int(run.sender.bytesAccepted)),
            ("seconds", .double(Double(now &- run.started) / 1e9, decimals: 6)),
        ]
        switch ending {
        case .saturated:
            let quiet = NumberFormat.fixed(Double(run.options.quietPeriod.nanoseconds) / 1e9, decimals: 2)
            display.event(
                "stopped",
                text: "Saturated: send() made no progress for \(quiet) s; the kernel accepted \(accepted) bytes "
                    + "(send() said EAGAIN \(times)).",
                fields: fields
            )
        case .duration:
            display.event(
                "stopped",
                text: "Stopped after \(seconds) s (the time limit); the kernel accepted \(accepted) bytes.",
                fields: fields
            )
        case .interrupted:
            display.event(
                "stopped",
                text: "Interrupted after \(seconds) s; the kernel accepted \(accepted) bytes.",
                fields: fields
            )
        case .failed(let error):
            // The caller reports the error itself (with its hint); this line only ends the progress.
            display.event("stopped", text: "send() failed after \(accepted) bytes: \(error).", fields: fields)
        }
    }
}
