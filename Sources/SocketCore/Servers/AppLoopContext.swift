// AppLoopContext.swift -- what every connection of one `serve app` loop shares, made once per loop.

/// The log, counters, buffers, request threads and settings of one `serve app` loop. A connection holds
/// this one reference instead of one per part: a connection is made for every request, and each reference it
/// holds is a retain when it is made and a release when it goes.
final class AppLoopContext {
    let log: EventLog
    let stats: ServerStats
    /// The loop's read buffer: a request is read into it and decoded from it in the same turn.
    let readBuffer: ReadBuffer
    /// The bytes all connections may hold together.
    let budget: RequestBudget
    let workers: RequestWorkers
    let options: AppOptions
    /// `options.requestTimeout` in nanoseconds, converted once: every connection arms it.
    let requestTimeoutNanoseconds: UInt64

    init(
        log: EventLog,
        stats: ServerStats,
        readBuffer: ReadBuffer,
        budget: RequestBudget,
        workers: RequestWorkers,
        options: AppOptions
    ) {
        self.log = log
        self.stats = stats
        self.readBuffer = readBuffer
        self.budget = budget
        self.workers = workers
        self.options = options
        self.requestTimeoutNanoseconds = options.requestTimeout.nanoseconds
    }
}

@available(*, unavailable)
extension AppLoopContext: Sendable {}
