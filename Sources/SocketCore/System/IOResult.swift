// IOResult.swift -- the outcome of a non-blocking call: done, or "would block".

/// The result of a call on a non-blocking descriptor (NIO's `IOResult`).
///
/// `.wouldBlock` is not an error: the kernel said EAGAIN, and the caller waits for readiness.
/// A `read` that returns `.processed(0)` means end of stream, not "would block".
public enum IOResult<Value: Sendable>: Sendable {
    /// The call made progress and returned this value.
    case processed(Value)
    /// The call would have blocked (EAGAIN/EWOULDBLOCK).
    case wouldBlock
}

extension IOResult: Equatable where Value: Equatable {}
