// LoadRunner.swift -- runs a load generator on N threads (one reactor each), prints progress once a
// second, and merges what the workers measured.

/// A load generator's work on one thread: built on that thread, run there, report handed back.
public protocol LoadWorker: AnyObject {
    /// Starts the connections.
    func start()
    /// Runs the worker's reactor until its work is done; returns what it measured.
    func run() throws -> LoadReport
}

/// Starts workers on threads and collects their reports.
public enum LoadRunner {
    /// Runs `threads` workers made by `makeWorker` (called on each worker thread with its index).
    ///
    /// - Parameters:
    ///   - interval: Called on the calling thread about once a second with the counters so far.
    ///   - signals: The signal pipe (SIGINT, SIGTERM installed): a signal ends the run early, as iperf3's
    ///     Ctrl-C does, with what was measured so far; the report names the signal. A second signal then
    ///     has its default action (the handlers are removed).
    /// - Returns: The merged report.
    public static func run(
        threads: Int,
        progress: LoadProgress,
        interval: (LoadProgress, UInt64) -> Void,
        signals: SignalPipe? = nil,
        makeWorker: @escaping @Sendable (Int) throws -> LoadWorker
    ) throws -> LoadReport {
        // Whatever happens, a signal after the run has its default action again: none is left unread.
        defer { signals?.uninstall(SignalNumber.stopping) }
        let done = try WakePipe()
        let results = (0..<threads).map { _ in ResultBox() }
        var workers: [WorkerThread] = []
        for index in 0..<threads {
            let box = results[index]
            do {
                workers.append(
                    try WorkerThread {
                        do {
                            let worker = try makeWorker(index)
                            worker.start()
                            box.result = .success(try worker.run())
                        } catch {
                            box.result = .failure(error)
                        }
                        done.wake()
                    }
                )
            } catch {
                // The threads already running finish their (bounded) run first: a thread is never dropped
                // while it may still use what this function owns.
                progress.stopping.store(true, ordering: .relaxed)
                for worker in workers { worker.join() }
                throw error
            }
        }
        let started = MonotonicClock.now()
        var lastInterval = started
        var finished = 0
        var interruption: CInt?
        let watched = [
            WaitTarget(done.readDescriptor, .readable), WaitTarget(signals?.pipe.readDescriptor ?? -1, .readable),
        ]
        while finished < threads {
            // Wakes for a finished worker or a signal, and at the next second's progress line.
            let ready = (try? Wait.until(lastInterval &+ 1_000_000_000, watched)) ?? nil
            if let ready, !ready[0].isEmpty { finished += done.drain().count }
            if let ready, !ready[1].isEmpty, let signals, let signal = signals.drain().first, interruption == nil {
                interruption = signal
                signals.uninstall(SignalNumber.stopping)
                progress.stopping.store(true, ordering: .relaxed)
            }
            let now = MonotonicClock.now()
            if now &- lastInterval >= 1_000_000_000 {
                lastInterval = now
                interval(progress, now - started)
            }
        }
        for worker in workers { worker.join() }
        var report = LoadReport()
        report.interruption = interruption
        for box in results {
            switch box.result {
            case .success(let part): report.merge(part)
            case .failure(let error): throw error
            case nil: break
            }
        }
        return report
    }

    /// Written by one worker thread, read by the caller after join().
    private final class ResultBox: @unchecked Sendable {
        var result: Result<LoadReport, any Error>?
    }
}
