// ServerWorkers.swift -- `--workers N`: N event loops on N threads of one process, all accepting from one
// listening socket (each loop has its own descriptor for it, a dup; no SO_REUSEPORT, which another process
// could join). The first loop runs on the main thread and is the one the supervisor's signals and timers
// use; the others are built and run on their own threads, and the main loop asks them to drain.
//
// The rule of this file: a loop's objects (reactor, server, log, connections) never leave its thread. What
// crosses threads is Sendable and small: the shared cap and budgets (ServerSharing), each loop's counters
// (ServerStats), a wake-up to ask it something, and its state.
import Synchronization

/// Builds one loop's server on that loop's thread, around its own reactor, log and copy of the listener
/// (passed `listeningSocket`, which the server then owns).
public typealias LoopServerMaker =
    @Sendable (_ reactor: Reactor, _ log: EventLog, _ listeningSocket: Socket) throws -> ConnectionServer

/// A server of several loops: the first (on this thread) plus `count - 1` on threads of their own.
public final class ServerWorkers: SupervisedServer {
    /// The most loops `--workers` takes: more loops than cores only add switching, and each holds
    /// descriptors (its listener copy, its backend, its pipes).
    public static let maximumCount = 64
    /// Descriptors each loop after the first holds: its copy of the listener, its backend, its spare
    /// descriptor, and the pipes of its wake-ups (orders, a freed slot, answers of the request pool).
    public static let descriptorsPerLoop = 10
    /// Descriptors a server of several loops holds once, besides: the first loop's reports and gate pipes,
    /// and its wake-up for a freed slot.
    public static let sharedDescriptors = 6

    /// The first loop's reactor: signals, the stats timer and the service manager's timers run on it.
    public var reactor: Reactor { first.reactor }
    public var address: SocketAddress { first.address }

    private let first: ConnectionServer
    private let count: Int
    private let backend: SelectorKind
    private let logSettings: EventLog.Settings
    private let makeServer: LoopServerMaker
    private var loops: [WorkerLoop] = []
    private var threads: [WorkerThread] = []
    /// Each loop writes a byte here when it is running or has stopped; the first loop watches it.
    private let reports: WakePipe
    /// Readable (one byte, never drained) once the loops may run: not before READY=1, which must come before
    /// the first accept of any loop.
    private let gate: WakePipe
    private var lastSeenTurns: [UInt64] = []
    private var isShuttingDown = false
    private var isWaitingForLoops = false
    /// The first failure of a loop, thrown by `run()` once every loop has stopped.
    private var failure: (any Error)?

    /// - Parameters:
    ///   - first: The first loop's server, made with the same `ServerSharing` as `makeServer`'s (not yet
    ///     started).
    ///   - count: Loops in all, from 1 to `maximumCount`.
    ///   - logSettings: The first loop's log, to make the others' like it (`EventLog.settings`).
    ///   - makeServer: Builds each other loop's server on its thread.
    /// - Throws: `SystemError` when the pipe cannot be made.
    public init(
        first: ConnectionServer,
        count: Int,
        logSettings: EventLog.Settings,
        makeServer: @escaping LoopServerMaker
    ) throws(SystemError) {
        precondition((1...Self.maximumCount).contains(count), "--workers out of range")
        self.first = first
        self.count = count
        self.backend = first.reactor.kind
        self.logSettings = logSettings
        self.makeServer = makeServer
        reports = try WakePipe()
        gate = try WakePipe()
    }

    /// Starts the first loop (the listening line), then the others, and returns once each accepts too.
    ///
    /// - Throws: `SystemError` when a loop cannot be made (its thread, backend or copy of the listener);
    ///   the loops already running are stopped first.
    public func start() throws(SystemError) {
        try first.start()
        let (reports, gate) = (self.reports, self.gate)
        let family = first.listener.socket.family
        do {
            for index in 1..<count {
                let descriptor = try first.listener.socket.duplicateDescriptor()
                let loop = try WorkerLoop(index: index)
                loops.append(loop)
                let (makeServer, logSettings, backend) = (self.makeServer, self.logSettings, self.backend)
                threads.append(
                    try WorkerThread {
                        loop.run(
                            backend: backend,
                            logSettings: logSettings,
                            listener: (descriptor, family),
                            makeServer: makeServer,
                            reports: reports,
                            gate: gate
                        )
                    }
                )
            }
            while loops.contains(where: { $0.isStarting }) {
                _ = try Wait.until(nil, [WaitTarget(reports.readDescriptor, .readable)])
                _ = reports.drain()
            }
            if let failed = loops.lazy.compactMap(\.failure).first { throw failed }
        } catch {
            stopLoops()
            first.closeAll()
            if let error = error as? SystemError { throw error }
            throw SystemError(errno: .invalidArgument, call: "start a worker loop", detail: "\(error)")
        }
        lastSeenTurns = Array(repeating: .max, count: loops.count)
        try first.reactor.register(descriptor: reports.readDescriptor, interest: .readable, handler: ReportReader(self))
    }

    /// Runs the first loop until it has drained, keeps it turning (signals, a second one exits at once)
    /// until every other loop has too, then joins their threads.
    ///
    /// - Throws: The first loop's `SystemError`, or the first failure of another loop.
    public func run() throws(SystemError) {
        gate.wake()
        var mainFailure: SystemError?
        do throws(SystemError) {
            try first.reactor.run()
        } catch {
            mainFailure = error
        }
        if mainFailure != nil { requestShutdownOfLoops() }
        first.closeAll()
        isWaitingForLoops = true
        while mainFailure == nil && loops.contains(where: { !$0.hasStopped }) {
            do throws(SystemError) {
                try first.reactor.run()
            } catch {
                mainFailure = error
                requestShutdownOfLoops()
            }
        }
        stopLoops()
        first.reactor.deregister(descriptor: reports.readDescriptor)
        if let mainFailure { throw mainFailure }
        if let failure = failure ?? loops.lazy.compactMap(\.failure).first {
            if let failure = failure as? SystemError { throw failure }
            throw SystemError(errno: .invalidArgument, call: "worker loop", detail: "\(failure)")
        }
    }

    /// Every loop stops accepting, then the shutdown line (once), and each drains within the grace period.
    public func beginShutdown(after signal: CInt) {
        beginShutdown()
        first.log.shutdown(signal)
    }

    /// How long the first loop waits for the others to close their copies of the listener.
    static let listenerClosePatience: Duration = .seconds(2)

    private func beginShutdown() {
        guard !isShuttingDown else { return }
        isShuttingDown = true
        first.beginShutdown()
        requestShutdownOfLoops()
        // The socket listens until its last descriptor is closed: wait (briefly: a loop's turn is bounded)
        // until every loop closed its copy, so that once the shutdown line is out no client is accepted by
        // the kernel any more, as with one loop.
        let deadline = Wait.deadline(after: Self.listenerClosePatience)
        while loops.contains(where: { !$0.hasClosedListener }) {
            guard (try? Wait.until(deadline, [WaitTarget(reports.readDescriptor, .readable)])) != nil else { break }
            _ = reports.drain()
        }
    }

    private func requestShutdownOfLoops() {
        for loop in loops { loop.requestShutdown() }
    }

    /// Asks every loop to stop (at once if it is still starting) and joins its thread.
    private func stopLoops() {
        requestShutdownOfLoops()
        gate.wake()
        for thread in threads { thread.join() }
        threads.removeAll()
    }

    /// The counters of every loop, summed.
    public func statsReport() -> ServerStatsReport {
        var counters = first.stats.snapshot()
        for loop in loops {
            if let stats = loop.stats { counters = counters + stats.snapshot() }
        }
        return ServerStatsReport(
            counters: counters,
            uptime: MonotonicClock.now() &- first.startedAt,
            workers: count,
            countsRequests: first.countsRequests
        )
    }

    /// True when every loop turned since the last time this was asked; each is then woken, so that an idle
    /// loop turns before the next ask. (The first loop runs the watchdog's timer: it is turning.)
    public var loopsAreTurning: Bool {
        var healthy = true
        for (index, loop) in loops.enumerated() where !loop.hasStopped {
            let turns = loop.turns
            if turns == lastSeenTurns[index] { healthy = false }
            lastSeenTurns[index] = turns
            loop.wakeUp.wake()
        }
        return healthy
    }

    /// A loop reported: running, or stopped. A loop that failed while the server runs stops the others.
    fileprivate func loopReported() {
        _ = reports.drain()
        if let failed = loops.lazy.compactMap(\.failure).first, failure == nil {
            failure = failed
            first.log.error("a worker loop failed: \(failed); stopping the server")
            beginShutdown()
        }
        if isWaitingForLoops && !loops.contains(where: { !$0.hasStopped }) { first.reactor.stop() }
    }
}

@available(*, unavailable)
extension ServerWorkers: Sendable {}

/// Reads the loops' reports on the first loop.
private final class ReportReader: SocketHandler {
    private unowned let workers: ServerWorkers
    init(_ workers: ServerWorkers) { self.workers = workers }
    func readable(in reactor: Reactor) { workers.loopReported() }
    func writable(in reactor: Reactor) {}
}

/// One loop after the first, as the other threads see it.
private final class WorkerLoop: Sendable {
    enum State {
        case starting
        case running(ServerStats)
        case stopped(ServerStats?, (any Error)?)
    }

    let index: Int
    /// Wakes the loop to look at `shutdownRequested` (and to turn, for the watchdog).
    let wakeUp: ReactorWakeUp
    private let shutdownRequested = Atomic(false)
    private let listenerClosed = Atomic(false)
    private let lastTurn = Atomic<UInt64>(0)
    private let state = Mutex(State.starting)

    init(index: Int) throws(SystemError) {
        self.index = index
        wakeUp = try ReactorWakeUp()
    }

    var isStarting: Bool {
        state.withLock { if case .starting = $0 { true } else { false } }
    }

    var hasStopped: Bool {
        state.withLock { if case .stopped = $0 { true } else { false } }
    }

    /// The loop's counters, once it runs.
    var stats: ServerStats? {
        state.withLock {
            switch $0 {
            case .starting: nil
            case .running(let stats): stats
            case .stopped(let stats, _): stats
            }
        }
    }

    /// Why the loop stopped, if it failed.
    var failure: (any Error)? {
        state.withLock { if case .stopped(_, let error) = $0 { error } else { nil } }
    }

    /// True once the loop closed its copy of the listener (shutdown), or stopped.
    var hasClosedListener: Bool { listenerClosed.load(ordering: .acquiring) }

    /// The loop's turn count at its last sleep.
    var turns: UInt64 { lastTurn.load(ordering: .relaxed) }

    func requestShutdown() {
        shutdownRequested.store(true, ordering: .relaxed)
        wakeUp.wake()
    }

    /// The thread's life: build the loop and its server, report, run until drained, close, report.
    func run(
        backend: SelectorKind,
        logSettings: EventLog.Settings,
        listener: (descriptor: CInt, family: CInt),
        makeServer: LoopServerMaker,
        reports: WakePipe,
        gate: WakePipe
    ) {
        let log = EventLog(settings: logSettings)
        let socket = Socket(adopting: listener.descriptor, family: listener.family)
        var server: ConnectionServer?
        do {
            let reactor = try Reactor(kind: backend)
            let made = try makeServer(reactor, log, socket)
            server = made
            try made.startAccepting()
            // A request sent before this (a signal came first, another loop failed to start) is a byte
            // already waiting in the pipe: the first turn acts on it.
            try reactor.attach(wakeUp) { [unowned self, unowned made] _ in
                guard self.shutdownRequested.load(ordering: .relaxed), !made.isShuttingDown else { return }
                made.beginShutdown()
                self.listenerClosed.store(true, ordering: .releasing)
                reports.wake()
            }
            reactor.addBeforeSleepHook { [unowned self, unowned reactor] in
                self.lastTurn.store(reactor.turn, ordering: .relaxed)
            }
            state.withLock { $0 = .running(made.stats) }
            reports.wake()
            _ = try Wait.until(nil, [WaitTarget(gate.readDescriptor, .readable)])
            try reactor.run()
            finish(server: made, log: log, error: nil, reports: reports)
        } catch {
            if server == nil && socket.isOpen { socket.close() }
            finish(server: server, log: log, error: error, reports: reports)
        }
    }

    private func finish(server: ConnectionServer?, log: EventLog, error: (any Error)?, reports: WakePipe) {
        server?.closeAll()
        listenerClosed.store(true, ordering: .releasing)
        log.flush()
        state.withLock { $0 = .stopped(server?.stats, error) }
        reports.wake()
    }
}
