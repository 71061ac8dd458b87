// RequestWorkers.swift -- the CPU bound of `serve app`: the loop answers small requests itself, up to a
// budget of content per turn, and hands every other request to a few worker threads, whose answers come
// back to the loop through a wake-up pipe. With `--workers` every loop hands its requests to one shared
// pool (`RequestPool`), and each answer goes back to the loop that asked.
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

    private let pool: RequestPool
    /// Where the threads leave this loop's answers.
    private let mailbox: AnswerMailbox
    private var waiting: [UInt64: (AppAnswer, Reactor) -> Void] = [:]
    private var inlineTurn: UInt64 = .max
    private var inlineBytes = 0

    /// Workers of this loop's own (one loop: the default).
    ///
    /// - Parameter beforeEachJob: Run on a worker thread before each request (tests hold a worker with it).
    /// - Throws: `SystemError` when the pipes cannot be made.
    convenience init(
        reactor: Reactor,
        threadCount: Int,
        beforeEachJob: (@Sendable () -> Void)? = nil
    ) throws(SystemError) {
        try self.init(reactor: reactor, pool: RequestPool(threadCount: threadCount, beforeEachJob: beforeEachJob))
    }

    /// This loop's use of `pool`, which other loops may share.
    ///
    /// - Throws: `SystemError` when the wake-up pipe cannot be made.
    init(reactor: Reactor, pool: RequestPool) throws(SystemError) {
        self.pool = pool
        let wakeUp = Weak()
        mailbox = AnswerMailbox(
            wakeUp: try reactor.makeWakeUp { reactor in wakeUp.workers?.deliverAnswers(in: reactor) }
        )
        wakeUp.workers = self
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

    /// Queues `frame` for a worker (of the pool every loop may share); `done` runs on this loop with its
    /// answer, unless the job is cancelled first.
    ///
    /// - Throws: `SystemError` when the first worker thread cannot be made.
    func enqueue(_ frame: Frame, done: @escaping (AppAnswer, Reactor) -> Void) throws(SystemError) -> Job {
        try pool.startIfNeeded()
        let id = pool.nextJobID()
        waiting[id] = done
        pool.push(id: id, frame: frame, mailbox: mailbox)
        return Job(id: id)
    }

    /// Forgets a job: its `done` is never called, and a worker that has not started it skips it.
    func cancel(_ job: Job) {
        guard waiting.removeValue(forKey: job.id) != nil else { return }
        pool.remove(id: job.id)
    }

    private func deliverAnswers(in reactor: Reactor) {
        for (id, answer) in mailbox.take() {
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

/// Answers waiting for one loop, and the wake-up that tells it.
final class AnswerMailbox: Sendable {
    private let answers = Mutex<[(id: UInt64, answer: AppAnswer)]>([])
    private let wakeUp: ReactorWakeUp

    init(wakeUp: ReactorWakeUp) {
        self.wakeUp = wakeUp
    }

    /// A worker thread leaves an answer and wakes the loop.
    func deliver(id: UInt64, answer: AppAnswer) {
        answers.withLock { $0.append((id, answer)) }
        wakeUp.wake()
    }

    /// The loop takes every answer left so far.
    func take() -> [(id: UInt64, answer: AppAnswer)] {
        answers.withLock { answers in
            defer { answers.removeAll() }
            return answers
        }
    }
}

/// The threads that answer large requests, and the requests waiting for one: one pool for every loop of a
/// server. The threads start at the first request and stop (joined) when the pool goes away.
final class RequestPool: Sendable {
    private let threadCount: Int
    private let queue: WorkQueue
    private let threads = Mutex<[WorkerThread]>([])
    private let lastJobID = Atomic<UInt64>(0)

    /// - Throws: `SystemError` when the pipe idle threads wait on cannot be made.
    init(threadCount: Int, beforeEachJob: (@Sendable () -> Void)?) throws(SystemError) {
        self.threadCount = max(1, threadCount)
        queue = WorkQueue(jobsReady: try WakePipe(), beforeEachJob: beforeEachJob)
    }

    deinit {
        queue.stop()
        threads.withLock { threads in
            for thread in threads { thread.join() }
        }
    }

    /// A job id no loop has used.
    func nextJobID() -> UInt64 {
        lastJobID.wrappingAdd(1, ordering: .relaxed).newValue
    }

    /// Starts the threads, once.
    ///
    /// - Throws: `SystemError` when not even one thread can be made.
    func startIfNeeded() throws(SystemError) {
        let queue = self.queue
        let count = threadCount
        try threads.withLock { threads throws(SystemError) in
            guard threads.isEmpty else { return }
            // Each thread's first allocation makes it an arena of its own, whose free top malloc_trim never
            // gives back (the idle server's returnFreeMemory): set the allocator to give it back as it goes.
            returnFreedMemoryPromptly()
            for _ in 0..<count {
                do throws(SystemError) {
                    threads.append(try WorkerThread { queue.work() })
                } catch {
                    if threads.isEmpty { throw error }  // fewer workers than asked still answer everything
                }
            }
        }
    }

    func push(id: UInt64, frame: Frame, mailbox: AnswerMailbox) {
        queue.push(id: id, frame: frame, mailbox: mailbox)
    }

    func remove(id: UInt64) {
        queue.remove(id: id)
    }
}

/// The requests waiting for a worker, shared with the threads.
private final class WorkQueue: Sendable {
    private struct State {
        var jobs: [(id: UInt64, frame: Frame, mailbox: AnswerMailbox)] = []
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

    func push(id: UInt64, frame: Frame, mailbox: AnswerMailbox) {
        state.withLock { $0.jobs.append((id, frame, mailbox)) }
        jobsReady.wake()
    }

    func remove(id: UInt64) {
        state.withLock { $0.jobs.removeAll { $0.id == id } }
    }

    func stop() {
        state.withLock { $0.stopping = true }
        jobsReady.wake()
    }

    /// A worker thread's life: take the oldest job, answer it, hand the answer to the loop that asked;
    /// wait when there is none; return at stop.
    func work() {
        enum Next {
            case job(id: UInt64, frame: Frame, mailbox: AnswerMailbox, more: Bool)
            case none
            case stop
        }
        while true {
            let next: Next = state.withLock { state in
                if state.stopping { return .stop }
                guard !state.jobs.isEmpty else { return .none }
                let job = state.jobs.removeFirst()
                return .job(id: job.id, frame: job.frame, mailbox: job.mailbox, more: !state.jobs.isEmpty)
            }
            switch next {
            case .stop:
                jobsReady.wake()  // the other workers stop too
                return
            case .none:
                _ = try? Wait.until(nil, [WaitTarget(jobsReady.readDescriptor, .readable)])
                _ = jobsReady.drain()
            case .job(let id, let frame, let mailbox, let more):
                // One byte may have stood for several jobs: if more wait, another idle worker should wake.
                if more { jobsReady.wake() }
                beforeEachJob?()
                mailbox.deliver(id: id, answer: AppAnswer.make(for: frame))
            }
        }
    }
}
