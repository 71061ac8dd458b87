// SelectorBackend.swift -- the contract between the reactor and the kernel's readiness API.
//
// Redis's ae_select.c / ae_epoll.c split: the loop is one, the backend is small. poll() is the default, as
// the design says; epoll is there for ten thousand connections, where poll() costs O(n) per turn.

/// Which readiness API a reactor uses.
public enum SelectorKind: String, Sendable, CaseIterable {
    /// poll(2): portable, O(registered descriptors) per wait.
    case poll
    /// epoll(7): Linux, O(ready descriptors) per wait.
    case epoll
}

/// One readiness event, as the backend reports it.
struct FiredEvent {
    var descriptor: CInt
    var readiness: Readiness
    /// The registration's generation when the event was collected; the reactor fills it in.
    var generation: UInt32 = 0
}

/// What a readiness backend must implement. The reactor calls it only from its own thread, and keeps a
/// descriptor registered with the backend only while its interest is not empty.
protocol SelectorBackend: AnyObject {
    /// Starts watching a descriptor. `exclusive`: other loops watch it too (a listener shared by
    /// `--workers`); a backend that can wake only one of them for an event does (epoll's EPOLLEXCLUSIVE),
    /// poll() wakes all, and the losers' accept finds nothing.
    func add(_ descriptor: CInt, interest: Interest, exclusive: Bool) throws(SystemError)
    /// Changes what a watched descriptor is watched for.
    func modify(_ descriptor: CInt, interest: Interest) throws(SystemError)
    /// Stops watching a descriptor; safe between waits even while the reactor dispatches events.
    func remove(_ descriptor: CInt)
    /// Waits until something is ready or the `MonotonicClock` time `deadline` (nil: forever), and appends
    /// what fired to `events`. The wait goes through `waitingThroughInterrupts`: EINTR waits again for the
    /// time that is left (a signal is a byte on the signal pipe, which the next wait reports).
    ///
    /// - Throws: `SystemError` for anything but EINTR.
    func wait(until deadline: UInt64?, into events: inout [FiredEvent]) throws(SystemError)
    /// Releases the backend's own descriptors.
    func close()
}
