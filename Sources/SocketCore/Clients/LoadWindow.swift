// LoadWindow.swift -- the measured window of a streaming load run (`connect --duration`, echo or
// send-only): the deadline, an early stop seen on another thread, and an end as soon as every stream
// has closed.

/// When a worker's streams stop sending, and until when their bytes count.
final class LoadWindow {
    private let reactor: Reactor
    private let progress: LoadProgress
    let deadline: UInt64
    private(set) var started: UInt64 = 0
    /// Streams not closed yet; when all have closed before the deadline, the run ends at once instead of
    /// idling until the deadline and averaging over the dead time.
    private var openStreams = 0
    private var deadlineTimer: ReactorTimer?
    /// Looks for an early stop (a signal, seen by the runner on another thread) a few times a second.
    private var stopWatchTimer: ReactorTimer?
    /// When the run ended, if before the deadline.
    private var endedEarlyAt: UInt64?
    private var onEnd: (Reactor) -> Void = { _ in }
    private static let stopWatchInterval: Duration = .milliseconds(100)

    init(reactor: Reactor, progress: LoadProgress, deadline: UInt64) {
        self.reactor = reactor
        self.progress = progress
        self.deadline = deadline
    }

    /// The end of the measured window: the deadline, or the early stop. Bytes that move later (while
    /// the streams drain) are checked but not counted.
    var measuredUntil: UInt64 { endedEarlyAt ?? deadline }

    /// True once the deadline or an early stop has passed.
    var hasEnded: Bool { deadlineTimer == nil }

    /// Starts the window for `streams` streams; `onEnd` runs once, at the deadline or the early stop.
    func start(streams: Int, onEnd: @escaping (Reactor) -> Void) {
        started = MonotonicClock.now()
        openStreams = streams
        self.onEnd = onEnd
        deadlineTimer = reactor.schedule(atNanoseconds: deadline) { [unowned self] reactor in
            self.deadlineTimer = nil
            self.end(in: reactor)
        }
        watchForStop()
    }

    private func end(in reactor: Reactor) {
        if let stopWatchTimer { reactor.cancel(stopWatchTimer) }
        stopWatchTimer = nil
        onEnd(reactor)
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
    func streamClosed(in reactor: Reactor) {
        openStreams -= 1
        guard openStreams == 0 else { return }
        if let deadlineTimer { reactor.cancel(deadlineTimer) }
        if let stopWatchTimer { reactor.cancel(stopWatchTimer) }
        deadlineTimer = nil
        stopWatchTimer = nil
    }

    /// The measured wall time: a run shorter than the set-up has nothing to measure, rather than a
    /// wrapped-around time.
    var measuredNanoseconds: UInt64 {
        let end = min(measuredUntil, deadline)
        return min(end, MonotonicClock.now()) - min(started, end)
    }
}

@available(*, unavailable)
extension LoadWindow: Sendable {}
