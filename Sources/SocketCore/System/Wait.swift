// Wait.swift -- the one deadline-aware wait: poll(2) on a few descriptors until one is ready or a deadline
// passes. Every blocking wait outside the reactor goes through `Wait.until`, and the reactor's selectors go
// through the same funnel, `waitingThroughInterrupts`.
//
// The rule of this file: a wait interrupted by a signal (EINTR) waits again for the time that is left,
// recomputed from the monotonic clock (libuv's "Update timeout and poll again"). Signals themselves arrive
// as bytes on the signal pipe, so a caller that watches the pipe sees them on the next wait.
import Glibc

/// Runs a wait call with the milliseconds left until `deadline` (rounded up, so a 0.3 ms wait does not
/// become a busy 0 ms one; -1 when there is no deadline), and again with the time recomputed after EINTR.
///
/// - Parameters:
///   - call: The C function's name, for the error.
///   - deadline: `MonotonicClock` nanoseconds; nil waits until something is ready.
///   - body: The wait, given its timeout in milliseconds; returns -1 and sets errno on failure.
/// - Returns: The call's non-negative result (0: the deadline passed).
/// - Throws: `SystemError` for any failure but EINTR.
@inline(never)
func waitingThroughInterrupts(
    _ call: StaticString,
    until deadline: UInt64?,
    _ body: (CInt) -> CInt
) throws(SystemError) -> CInt {
    while true {
        let result = body(Wait.milliseconds(until: deadline))
        if result >= 0 { return result }
        let code = errno
        if code == EINTR {
            if let deadline, MonotonicClock.now() >= deadline { return 0 }
            continue
        }
        throw SystemError(errno: Errno(rawValue: code), call: "\(call)")
    }
}

/// What to wait for on one descriptor.
public struct WaitTarget: Sendable, Equatable {
    public var descriptor: CInt
    public var interest: Interest

    public init(_ descriptor: CInt, _ interest: Interest) {
        self.descriptor = descriptor
        self.interest = interest
    }
}

/// Blocking waits with a deadline.
public enum Wait {
    /// Waits until one of `targets` is ready or `deadline` passes. The corresponding C function is `poll(2)`.
    ///
    /// - Parameters:
    ///   - targets: Up to a few descriptors (a socket, the signal pipe); a negative descriptor is skipped.
    ///   - deadline: `MonotonicClock` nanoseconds; nil waits until something is ready.
    /// - Returns: For each target what it is ready for (a hang-up or error counts as both, so the next read or
    ///   write reports it); nil when the deadline passed first.
    /// - Throws: `SystemError` if poll fails for any reason but EINTR.
    public static func until(_ deadline: UInt64?, _ targets: [WaitTarget]) throws(SystemError) -> [Readiness]? {
        try withUnsafeTemporaryAllocation(of: pollfd.self, capacity: targets.count) {
            entries throws(SystemError) -> [Readiness]? in
            for (index, target) in targets.enumerated() {
                var events: Int16 = 0
                if target.interest.contains(.readable) { events |= Int16(POLLIN) }
                if target.interest.contains(.writable) { events |= Int16(POLLOUT) }
                entries.initializeElement(at: index, to: pollfd(fd: target.descriptor, events: events, revents: 0))
            }
            let count = nfds_t(targets.count)
            let ready = try waitingThroughInterrupts("poll", until: deadline) { poll(entries.baseAddress, count, $0) }
            guard ready > 0 else { return nil }
            return entries.map { entry in
                let bits = Int32(entry.revents)
                var readiness: Readiness = []
                if bits & POLLIN != 0 { readiness.insert(.readable) }
                if bits & POLLOUT != 0 { readiness.insert(.writable) }
                if bits & (POLLHUP | POLLERR) != 0 { readiness.formUnion([.readable, .writable, .hangup]) }
                return readiness
            }
        }
    }

    /// Waits for one descriptor; false when the deadline passed first.
    public static func until(_ deadline: UInt64?, _ descriptor: CInt, _ interest: Interest) throws(SystemError) -> Bool
    {
        try until(deadline, [WaitTarget(descriptor, interest)]) != nil
    }

    /// The deadline `timeout` from now; nil (never) for a nil timeout.
    public static func deadline(after timeout: Duration?) -> UInt64? {
        timeout.map { MonotonicClock.now() &+ $0.nanoseconds }
    }

    /// Milliseconds until `deadline`, rounded up (mio); 0 once it has passed; -1 for no deadline.
    static func milliseconds(until deadline: UInt64?) -> CInt {
        guard let deadline else { return -1 }
        let now = MonotonicClock.now()
        guard deadline > now else { return 0 }
        return CInt(clamping: (deadline - now + 999_999) / 1_000_000)
    }
}
