// Socket+Wait.swift -- waiting on one socket in the blocking commands, bounded by a timeout and
// interruptible by a signal (through the signal pipe), so Ctrl-C and deadlines always work.
import Glibc

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
    /// The corresponding C function is `poll(2)`; EINTR restarts it with the time that is left.
    public func wait(
        for interest: Interest,
        timeout: Duration?,
        signals: SignalPipe? = nil
    ) throws(SystemError) -> WaitOutcome {
        var entries = [
            pollfd(
                fd: descriptor,
                events: (interest.contains(.readable) ? Int16(POLLIN) : 0)
                    | (interest.contains(.writable) ? Int16(POLLOUT) : 0),
                revents: 0
            ),
            pollfd(fd: signals?.pipe.readDescriptor ?? -1, events: Int16(POLLIN), revents: 0),
        ]
        let deadline = timeout.map { MonotonicClock.now() &+ $0.nanoseconds }
        while true {
            var milliseconds: CInt = -1
            if let deadline {
                let now = MonotonicClock.now()
                if now >= deadline { return .timedOut }
                milliseconds = CInt(clamping: (deadline - now + 999_999) / 1_000_000)
            }
            let ready = poll(&entries, nfds_t(entries.count), milliseconds)
            if ready < 0 {
                if errno == EINTR { continue }
                throw SystemError(errno: Errno(rawValue: errno), call: "poll")
            }
            if let signals, entries[1].revents != 0, let signal = signals.drain().first { return .signalled(signal) }
            if entries[0].revents != 0 { return .ready }
            if ready == 0 && deadline != nil { return .timedOut }
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
