// ServerSharing.swift -- what the loops of one `--workers` server share across their threads, so that its
// limits stay global: the connection cap (--max-conns) and, for `serve app`, the request bytes held
// (--max-buffered) and one pool of request threads.
//
// The rule of this file: everything here is Sendable and lock-free on the paths a connection takes (one
// atomic read-modify-write per accept, per close, per budget change); a single loop (the default) uses none
// of it and keeps its plain counters.
import Synchronization

/// The shared state of a server's loops.
public final class ServerSharing: Sendable {
    /// The connection cap, counted over every loop.
    let slots: ConnectionSlots
    /// `serve app`: the request bytes all loops' connections hold, and their limit.
    let requestBytes: SharedRequestBytes?
    /// `serve app`: the threads that answer large requests, one pool for every loop.
    let requestPool: RequestPool?
    /// The listeners' EMFILE warning, at most once a second for the whole server.
    let exhaustionWarnings = WarningRate(interval: Listener.exhaustionWarningInterval)
    /// The listeners' connection-cap warning, at most once every 10 s for the whole server.
    let capWarnings = WarningRate(interval: Listener.capWarningInterval)

    /// Sharing for a server whose loops take at most `maxConnections` connections in all; with `app`, a
    /// request budget of `app.maxBufferedBytes` and a pool of `app.workerThreads` threads as well.
    ///
    /// - Throws: `SystemError` when the pool's pipe cannot be made.
    public init(maxConnections: Int, app: AppOptions? = nil) throws(SystemError) {
        slots = ConnectionSlots(limit: maxConnections)
        requestBytes = app.map { SharedRequestBytes(limit: $0.maxBufferedBytes) }
        requestPool = try app.map { app throws(SystemError) in
            try RequestPool(threadCount: app.workerThreads, beforeEachJob: app.beforeEachWorkerJob)
        }
    }
}

/// The connection cap over every loop: a loop takes a slot before it accepts and gives it back when the
/// accept found nothing or the connection closed, so two loops racing for the last slot cannot both win.
final class ConnectionSlots: Sendable {
    /// The most connections open at once over every loop.
    let limit: Int
    private let taken = Atomic<Int>(0)
    /// Loops whose listener paused at the cap: a slot given back wakes them.
    private let pausedLoops = Atomic<Int>(0)
    private let wakeUps = Mutex<[ReactorWakeUp]>([])

    init(limit: Int) {
        self.limit = limit
    }

    /// Slots taken now (connections open, plus accepts in progress).
    var count: Int { taken.load(ordering: .sequentiallyConsistent) }

    /// True while a slot is free.
    var hasRoom: Bool { count < limit }

    /// Takes a slot; false (nothing taken) at the cap.
    func take() -> Bool {
        var current = taken.load(ordering: .relaxed)
        while current < limit {
            let (exchanged, original) = taken.compareExchange(
                expected: current,
                desired: current + 1,
                ordering: .sequentiallyConsistent
            )
            if exchanged { return true }
            current = original
        }
        return false
    }

    /// Gives a slot back, and wakes the loops paused at the cap so one of them accepts into it.
    func give() {
        taken.wrappingSubtract(1, ordering: .sequentiallyConsistent)
        guard pausedLoops.load(ordering: .sequentiallyConsistent) > 0 else { return }
        for wakeUp in wakeUps.withLock({ $0 }) { wakeUp.wake() }
    }

    /// A loop's way to be woken when a slot frees while it is paused (`attach` it to the loop first).
    func add(_ wakeUp: ReactorWakeUp) {
        wakeUps.withLock { $0.append(wakeUp) }
    }

    /// A loop's listener paused at the cap. Returns true when a slot freed meanwhile: resume at once (a
    /// loop that gave one back before the pause was counted did not wake this one).
    func paused() -> Bool {
        pausedLoops.wrappingAdd(1, ordering: .sequentiallyConsistent)
        return hasRoom
    }

    /// A paused listener resumed.
    func resumed() {
        pausedLoops.wrappingSubtract(1, ordering: .sequentiallyConsistent)
    }
}

/// A warning printed at most once per interval, whichever loop has it to say.
final class WarningRate: Sendable {
    private let interval: UInt64
    /// `MonotonicClock` time of the last warning; 0: none yet.
    private let last = Atomic<UInt64>(0)

    init(interval: Duration) {
        self.interval = UInt64(interval.nanoseconds)
    }

    /// True (and the time taken) when no warning was printed within the interval before `now`.
    func allows(now: UInt64) -> Bool {
        var previous = last.load(ordering: .relaxed)
        while previous == 0 || now &- previous >= interval {
            let (exchanged, original) = last.compareExchange(expected: previous, desired: now, ordering: .relaxed)
            if exchanged { return true }
            previous = original
        }
        return false
    }
}

/// `serve app`'s request bytes over every loop (--max-buffered); each loop's `RequestBudget` takes from it.
final class SharedRequestBytes: Sendable {
    /// The most request bytes held at once over every loop.
    let limit: Int
    private let held = Atomic<Int>(0)

    init(limit: Int) {
        self.limit = limit
    }

    /// Takes `count` bytes; false (nothing taken) if that would pass the limit.
    func take(_ count: Int) -> Bool {
        var current = held.load(ordering: .relaxed)
        while current + count <= limit {
            let (exchanged, original) = held.compareExchange(
                expected: current,
                desired: current + count,
                ordering: .relaxed
            )
            if exchanged { return true }
            current = original
        }
        return false
    }

    /// Gives `count` bytes back.
    func release(_ count: Int) {
        held.wrappingSubtract(count, ordering: .relaxed)
    }
}
