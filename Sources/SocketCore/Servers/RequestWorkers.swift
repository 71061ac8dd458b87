// RequestWorkers.swift -- the CPU bound of `serve app`: the loop answers small requests itself, up to a
// budget of content per turn, and hands every other request to a few worker threads, whose answers come
// back to the loop through a wake-up pipe.
//
// A request's cost grows with its content (1 MiB of `[9e15, ...]` is about 0.2 s of parsing and answer
// building); on the loop that time would be every other client's wait. With the budget a loop turn spends
// at most `inlineBytesPerTurn` of content on answers, whatever the clients send, and a queue of large
// requests waits for the workers, not the loop.
import Synchronization

/// Answers requests on the loop or on worker threads. Loop-side calls only; the threads start at the first
/// request handed to them (the pipes are made at once, so a server's descriptor count does not grow later).
final class RequestWorkers {
    /// A request of at most this much content may be answered on the loop...
    static let largestInlineRequest = 4 << 10
    /// ...as long as the loop's turn answered less than this much content on its own.
    static let inlineBytesPerTurn = 32 << 10

    /// The default: one thread fewer than the processors, so the loop keeps one to itself; 1 to 4.
    static func defaultThreadCount() -> Int {
        min(4, max(1, Processors.online() - 1))
    }

    /// A handle to a request handed to the workers, to cancel it.
    struct Job: Hashable {
        fileprivate let id: UInt64
    }

    private let threadCount: Int
    private let queue: WorkQueue
    private var threads: [WorkerThread] = []
    private let wakeUp: ReactorWakeUp
    private var waiting: [UInt64: (AppAnswer, Reactor) -> Void] = [:]
    private var nextID: UInt64 = 0
    private var inlineTurn: UInt64 = .max
    private var inlineBytes = 0

    /// - Parameter beforeEachJob: Run on a worker thread before each request (tests hold a worker with it).
    /// - Throws: `SystemError` when the pipes cannot be made.
    init(reactor: Reactor, threadCount: Int, beforeEachJob: (@Sendable () -> Void)? = nil) throws(SystemError) {
        self.threadCount = max(1, threadCount)
        queue = WorkQueue(jobsReady: try WakePipe(), beforeEachJob: beforeEachJob)
        let wakeUp = Weak()
        self.wakeUp = try reactor.makeWakeUp { reactor in wakeUp.workers?.deliverAnswers(in: reactor) }
        wakeUp.workers = self
    }

    deinit {
        queue.stop()
        for thread in threads { thread.join() }
    }

    /// Requests handed to the workers and not answered yet.
    var pendingCount: Int { waiting.count }

    /// Answers `frame` now when it is small and the turn's budget allows (returns nil, `done` already
    /// called); otherwise queues it for a worker (returns its job; `done` runs on the loop later, unless the
    /// job is cancelled first).
    ///
    /// - Throws: `SystemError` when the first worker thread cannot be made.
    func answer(
        _ frame: Frame,
        in reactor: Reactor,
        done: @escaping (AppAnswer, Reactor) -> Void
    ) throws(SystemError) -> Job? {
        if mayAnswerInline(frame, in: reactor) {
            done(AppAnswer.make(for: frame), reactor)
            return nil
        }
        return try enqueue(frame, done: done)
    }

    /// Whether the loop may answer `frame` itself in this turn; true takes its content from the turn's budget.
    /// (The loop's fast path: an answer made at once needs no `done` closure to wait in.)
    func mayAnswerInline(_ frame: Frame, in reactor: Reactor) -> Bool {
        let size = frame.content.count
        if reactor.turn != inlineTurn {
            inlineTurn = reactor.turn
            inlineBytes = 0
        }
        guard size <= Self.largestInlineRequest && inlineBytes + size <= Self.inlineBytesPerTurn else { return false }
        inlineBytes += size
        return true
    }

    /// Queues `frame` for a worker; `done` runs on the loop with its answer, unless the job is cancelled first.
    ///
    /// - Throws: `SystemError` when the first worker thread cannot be made.
    func enqueue(_ frame: Frame, done: @escaping (AppAnswer, Reactor) -> Void) throws(SystemError) -> Job {
        try startIfNeeded()
        nextID &+= 1
        waiting[nextID] = done
        queue.push(id: nextID, frame: frame)
        return Job(id: nextID)
    }

    /// Forgets a job: its `done` is never called, and a worker that has not started it skips it.
    func cancel(_ job: Job) {
        guard waiting.removeValue(forKey: job.id) != nil else { return }
        queue.remove(id: job.id)
    }

    private func startIfNeeded() throws(SystemError) {
        guard threads.isEmpty else { return }
        // Each thread's first allocation makes it an arena of its own, whose free top malloc_trim never
        // gives back (the idle server's returnFreeMemory): set the allocator to give it back as it goes.
        returnFreedMemoryPromptly()
        let queue = self.queue
        let wakeUp = self.wakeUp
        for _ in 0..<threadCount {
            do {
                threads.append(try WorkerThread { queue.work(wakingLoop: wakeUp) })
            } catch {
                if threads.isEmpty { throw error }  // fewer workers than asked still answer everything
            }
        }
    }

    private func deliverAnswers(in reactor: Reactor) {
        for (id, answer) in queue.takeAnswers() {
            waiting.removeValue(forKey: id)?(answer, reactor)
        }
    }
}

@available(*, unavailable)
extension RequestWorkers: Sendable {}

/// The wake-up's way back to the workers, which may be gone (the reactor keeps the wake-up for its life).
private final class Weak {
    weak var workers: RequestWorkers?
}

/// The requests waiting for a worker and the answers waiting for the loop, shared with the threads.
private final class WorkQueue: Sendable {
    private struct State {
        var jobs: [(id: UInt64, frame: Frame)] = []
        var answers: [(id: UInt64, answer: AppAnswer)] = []
        var stopping = false
    }

    private let state = Mutex(State())
    /// Written once per job pushed (and at stop): idle workers wait for it to be readable.
    private let jobsReady: WakePipe
    private let beforeEachJob: (@Sendable () -> Void)?

    init(jobsReady: WakePipe, beforeEachJob: (@Sendable () -> Void)?) {
        self.jobsReady = jobsReady
        self.beforeEachJob = beforeEachJob
    }

    func push(id: UInt64, frame: Frame) {
        state.withLock { $0.jobs.append((id, frame)) }
        jobsReady.wake()
    }

    func remove(id: UInt64) {
        state.withLock { $0.jobs.removeAll { $0.id == id } }
    }

    func takeAnswers() -> [(id: UInt64, answer: AppAnswer)] {
        state.withLock { state in
            defer { state.answers.removeAll() }
            return state.answers
        }
    }

    func stop() {
        state.withLock { $0.stopping = true }
        jobsReady.wake()
    }

    /// A worker thread's life: take the oldest job, answer it, hand the answer to the loop; wait when there
    /// is none; return at stop.
    func work(wakingLoop wakeUp: ReactorWakeUp) {
        enum Next {
            case job(id: UInt64, frame: Frame, more: Bool)
            case none
            case stop
        }
        while true {
            let next: Next = state.withLock { state in
                if state.stopping { return .stop }
                guard !state.jobs.isEmpty else { return .none }
                let job = state.jobs.removeFirst()
                return .job(id: job.id, frame: job.frame, more: !state.jobs.isEmpty)
            }
            switch next {
            case .stop:
                jobsReady.wake()  // the other workers stop too
                return
            case .none:
                _ = try? Wait.until(nil, [WaitTarget(jobsReady.readDescriptor, .readable)])
                _ = jobsReady.drain()
            case .job(let id, let frame, let more):
                // One byte may have stood for several jobs: if more wait, another idle worker should wake.
                if more { jobsReady.wake() }
                beforeEachJob?()
                let answer = AppAnswer.make(for: frame)
                state.withLock { $0.answers.append((id, answer)) }
                wakeUp.wake()
            }
        }
    }
}
