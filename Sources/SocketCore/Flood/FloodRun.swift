// FloodRun.swift -- the loop of one flood: send until EAGAIN, wait for room with a deadline, try again, and
// read the queues from the kernel as they fill, until nothing moves for the quiet period.
//
// One thread, poll() on the sending socket and the signal pipe, no reactor: there is one socket to watch,
// and the timing (sample ticks, quiet period, time limit) is the whole logic.

/// Where the sender can read the receiver's queues.
enum ReceiverView {
    /// The demo's own receiving socket: ioctl(SIOCINQ).
    case socket(Socket)
    /// A receiver in another process on this host, found in /proc/net/tcp by its addresses.
    case kernelTable(local: SocketAddress, remote: SocketAddress)
    /// A receiver on another machine: its queues are not visible from here.
    case hidden

    /// The receiver's Recv-Q now, or nil when it cannot be seen.
    func receiveQueue() -> Int? {
        switch self {
        case .socket(let socket): try? socket.inputQueueBytes()
        case .kernelTable(let local, let remote): KernelTCPTable.entry(local: local, remote: remote)?.receiveQueue
        case .hidden: nil
        }
    }
}

/// Drives one sender (and, in the demo, the receiver's optional drain) until the run ends.
final class FloodRun {
    let sender: FloodSender
    let receiver: ReceiverView
    let drain: FloodDrain?
    let options: FloodOptions
    let display: FloodDisplay
    /// The receiver's address, for the lines.
    let peer: SocketAddress
    /// When the run began (MonotonicClock).
    let started: UInt64
    /// SO_SNDBUF before the first send() (autotuning may grow it during the run).
    let initialSendBuffer: Int
    /// The queues at every sample tick, and at the first EAGAIN.
    private(set) var samples: [FloodSample] = []
    /// The last text interval line's numbers, so unchanged lines are not repeated.
    private var lastLineSample: FloodSample?
    /// The receiver's Recv-Q read from /proc is cached for a quarter second: on a busy host the table runs to
    /// megabytes.
    private var cachedReceiveQueue: (value: Int?, at: UInt64)?

    /// Samples kept for the plot; beyond this every other one is dropped (a long run at 100 Hz).
    static let maximumSamples = 4000

    init(
        sender: FloodSender,
        receiver: ReceiverView,
        drain: FloodDrain?,
        peer: SocketAddress,
        options: FloodOptions,
        display: FloodDisplay,
        started: UInt64
    ) {
        self.sender = sender
        self.receiver = receiver
        self.drain = drain
        self.peer = peer
        self.options = options
        self.display = display
        self.started = started
        initialSendBuffer = (try? sender.socket.sendBufferSize()) ?? 0
    }

    /// Runs until the buffers are full (no progress for the quiet period, when `options.endsWhenFull`), the
    /// time limit passes, a signal arrives, or send() fails.
    func run(signals: SignalPipe?) -> FloodReport.Ending {
        let sampleStep = max(options.sampleInterval.nanoseconds, 1_000_000)
        let liveStep = max(options.displayInterval.nanoseconds, FloodDisplay.liveInterval.nanoseconds)
        let lineStep = display.log.format == .json ? liveStep : FloodDisplay.lineInterval.nanoseconds
        let quiet = options.quietPeriod.nanoseconds
        let end = started &+ options.effectiveDuration.nanoseconds
        record(now: started)  // the empty queues before the first send(), where the plot starts
        var nextSample = started &+ sampleStep
        var nextLive = started
        var nextLine = started &+ lineStep
        while true {
            let now = MonotonicClock.now()
            do {
                try drain?.drain(now: now)
                let hadBlocked = sender.firstWouldBlock != nil
                _ = try sender.pump(now: now)
                if !hadBlocked, sender.firstWouldBlock != nil { announceFirstWouldBlock(now: now) }
            } catch {
                // send() and read() do not know the address; the error line should name it.
                return .failed(error.detail.isEmpty ? error.with(detail: peer.description) : error)
            }
            if now >= nextSample {
                record(now: now)
                nextSample = max(nextSample &+ sampleStep, now &+ sampleStep / 2)
            }
            if now >= nextLive, display.showsLiveLine, let last = samples.last {
                display.live(liveText(last))
                nextLive = now &+ liveStep
            }
            if now >= nextLine, display.printsIntervalLines, let last = samples.last {
                printInterval(last)
                nextLine = now &+ lineStep
            }
            if now >= end { return .duration }
            if options.endsWhenFull, sender.isBlocked, now &- sender.lastProgress >= quiet { return .saturated }
            guard sender.isBlocked else {
                // Still sending: look for Ctrl-C without sleeping.
                if let signals, !signals.drain().isEmpty { return .interrupted }
                continue
            }
            // Blocked: sleep until there is room, the next tick, the end of the quiet period, or the limit.
            // The tick also retries send() even without POLLOUT: poll() reports room only once a third of
            // the buffer is free, while send() takes bytes as soon as there is any.
            var deadline = min(nextSample, end)
            if options.endsWhenFull { deadline = min(deadline, sender.lastProgress &+ quiet) }
            let wait: Duration = deadline > now ? .nanoseconds(Int64(deadline - now)) : .zero
            do {
                if case .signalled = try sender.socket.wait(for: .writable, timeout: wait, signals: signals) {
                    return .interrupted
                }
            } catch {
                return .failed(error)
            }
        }
    }

    // MARK: - Samples

    /// Reads the queues now and keeps the sample.
    @discardableResult
    func record(now: UInt64) -> FloodSample {
        let sample = FloodSample(
            nanoseconds: now &- started,
            bytesAccepted: sender.bytesAccepted,
            sendQueue: (try? sender.socket.outputQueueBytes()) ?? 0,
            unsentBytes: (try? sender.socket.unsentQueueBytes()) ?? 0,
            receiveQueue: receiverQueue(now: now),
            drainedBytes: drain?.drainedBytes ?? 0,
            peerWindow: (try? sender.socket.tcpInfo()).map { Int($0.peerWindow) }
        )
        if samples.count >= Self.maximumSamples {
            samples = samples.enumerated().compactMap { $0.offset % 2 == 0 ? $0.element : nil }
        }
        samples.append(sample)
        return sample
    }

    private func receiverQueue(now: UInt64) -> Int? {
        guard case .kernelTable = receiver else { return receiver.receiveQueue() }
        if let cached = cachedReceiveQueue, now &- cached.at < FloodDisplay.lineInterval.nanoseconds {
            return cached.value
        }
        let value = receiver.receiveQueue()
        cachedReceiveQueue = (value, now)
        return value
    }

    // MARK: - Lines

    /// The guide's "BlockingIOError ... Resource temporarily unavailable" moment, in one line.
    private func announceFirstWouldBlock(now: UInt64) {
        let sample = record(now: now)
        let accepted = sender.firstWouldBlock?.bytes ?? sender.bytesAccepted
        let errno = Errno.wouldBlock
        display.event(
            "would_block",
            text:
                "send() would block (\(errno.name): \(errno)) after \(NumberFormat.grouped(accepted)) bytes "
                + "for \(peer)",
            fields: [
                ("bytes_accepted", .int(accepted)), ("errno", .string(errno.name)), ("peer", .string(peer.description)),
                ("seconds", .double(sample.seconds, decimals: 6)), ("send_q", .int(sample.sendQueue)),
                ("recv_q", sample.receiveQueue.map { .int($0) } ?? .null),
            ]
        )
    }

    /// " 0.25 s  accepted 4,291,584  Send-Q 4,163,072  Recv-Q 128,512  EAGAIN ×23": short enough for one line.
    private func liveText(_ sample: FloodSample) -> String {
        var text = " " + NumberFormat.fixed(sample.seconds, decimals: 2) + " s"
        text += "  accepted " + NumberFormat.grouped(sample.bytesAccepted)
        text += "  Send-Q " + NumberFormat.grouped(sample.sendQueue)
        if let queue = sample.receiveQueue { text += "  Recv-Q " + NumberFormat.grouped(queue) }
        if drain != nil { text += "  read " + NumberFormat.grouped(sample.drainedBytes) }
        if sender.wouldBlockCount > 0 { text += "  EAGAIN ×" + String(sender.wouldBlockCount) }
        return text
    }

    private func printInterval(_ sample: FloodSample) {
        if display.log.format == .text, let last = lastLineSample, last.bytesAccepted == sample.bytesAccepted,
            last.sendQueue == sample.sendQueue, last.receiveQueue == sample.receiveQueue,
            last.drainedBytes == sample.drainedBytes
        {
            return
        }
        lastLineSample = sample
        display.event(
            "sample",
            text: intervalText(sample),
            fields: [
                ("seconds", .double(sample.seconds, decimals: 6)), ("bytes_accepted", .int(sample.bytesAccepted)),
                ("send_q", .int(sample.sendQueue)), ("unsent", .int(sample.unsentBytes)),
                ("recv_q", sample.receiveQueue.map { .int($0) } ?? .null), ("drained", .int(sample.drainedBytes)),
                ("peer_window", sample.peerWindow.map { .int($0) } ?? .null),
            ]
        )
    }

    /// "  0.250 s  accepted 4,291,584  Send-Q 4,163,072  Recv-Q 128,512  (unsent 4,163,072, window 0)".
    private func intervalText(_ sample: FloodSample) -> String {
        var text = "  " + NumberFormat.fixed(sample.seconds, decimals: 3) + " s"
        text += "  accepted " + NumberFormat.grouped(sample.bytesAccepted)
        text += "  Send-Q " + NumberFormat.grouped(sample.sendQueue)
        if let queue = sample.receiveQueue { text += "  Recv-Q " + NumberFormat.grouped(queue) }
        if drain != nil { text += "  read by receiver " + NumberFormat.grouped(sample.drainedBytes) }
        text += "  (unsent " + NumberFormat.grouped(sample.unsentBytes)
        if let window = sample.peerWindow { text += ", window " + NumberFormat.grouped(window) }
        return text + ")"
    }
}

@available(*, unavailable)
extension FloodRun: Sendable {}
