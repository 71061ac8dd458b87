// SignalPipe+Wait.swift -- a pause that a signal ends early: `sockets --watch` between two snapshots.

extension SignalPipe {
    /// Waits until a signal arrives or `timeout` passes (through `Wait.until`).
    ///
    /// - Returns: The signal's number, or nil when the time passed first.
    public func wait(timeout: Duration) throws(SystemError) -> CInt? {
        let deadline = MonotonicClock.now() &+ timeout.nanoseconds
        while true {
            if let signal = drain().first { return signal }
            if MonotonicClock.now() >= deadline { return nil }
            _ = try Wait.until(deadline, pipe.readDescriptor, .readable)
        }
    }
}
