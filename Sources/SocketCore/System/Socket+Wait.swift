// Socket+Wait.swift -- waiting on one socket in the blocking commands, bounded by a timeout and
// interruptible by a signal (through the signal pipe), so Ctrl-C and deadlines always work.

/// What ended a wait.
public enum WaitOutcome: Sendable, Equatable {
    /// The socket is ready (or hung up, or has an error: the next call reports it).
    case ready
    /// The timeout passed first.
    case timedOut
    /// A signal arrived (its number).
    case signalled(CInt)
}

extension Socket {
    /// Waits until the socket is ready for `interest`, `timeout` passes, or a signal arrives on `signals`.
    /// The wait is `Wait.until`'s: EINTR waits again for the time that is left.
    public func wait(
        for interest: Interest,
        timeout: Duration?,
        signals: SignalPipe? = nil
    ) throws(SystemError) -> WaitOutcome {
        try wait(for: interest, until: Wait.deadline(after: timeout), signals: signals)
    }

    /// Waits until the socket is ready for `interest`, the `MonotonicClock` time `deadline` passes (nil:
    /// never), or a signal arrives on `signals`.
    public func wait(
        for interest: Interest,
        until deadline: UInt64?,
        signals: SignalPipe? = nil
    ) throws(SystemError) -> WaitOutcome {
        let targets = [
            WaitTarget(descriptor, interest), WaitTarget(signals?.pipe.readDescriptor ?? -1, .readable),
        ]
        while true {
            guard let ready = try Wait.until(deadline, targets) else { return .timedOut }
            if let signals, !ready[1].isEmpty, let signal = signals.drain().first { return .signalled(signal) }
            if !ready[0].isEmpty { return .ready }
        }
    }

    /// Writes all of `bytes`, waiting for room as needed; gives up after `timeout` without progress.
    ///
    /// - Returns: `.ready` when everything was written, or what ended the wait.
    public func writeAll(
        _ bytes: UnsafeRawBufferPointer,
        timeout: Duration?,
        signals: SignalPipe? = nil
    ) throws(SystemError) -> WaitOutcome {
        var offset = 0
        while offset < bytes.count {
            if case .processed(let written) = try write(UnsafeRawBufferPointer(rebasing: bytes[offset...])) {
                offset += written
                continue
            }
            let outcome = try wait(for: .writable, timeout: timeout, signals: signals)
            if outcome != .ready { return outcome }
        }
        return .ready
    }
}
