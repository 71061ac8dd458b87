// Syscall.swift -- the one funnel every system call goes through.
//
// The rule of this file: errno is read on the very next line after the call, before anything that could
// allocate or log, which is why the funnels are @inline(never) and the call is a non-escaping closure.
// EAGAIN becomes `.wouldBlock`; EBADF and EFAULT are bugs and trap.
//
// EINTR has one rule per kind of call, and every one of them lives in System/:
// - a call that does not wait (socket, bind, read, write, ...) is retried at once, here;
// - a wait (poll, epoll_wait) waits again for the time that is left: `waitingThroughInterrupts` in Wait.swift;
// - connect is not retried: the handshake goes on, so EINTR means "in progress" (Socket.swift);
// - close is not retried: the descriptor is gone (below).
import Glibc

/// Runs a call that does not block here, retrying while it fails with EINTR.
///
/// - Parameters:
///   - call: The C function's name, for the error.
///   - detail: What it acts on (an address, a descriptor), evaluated only on failure.
///   - body: The call; returns -1 and sets errno on failure.
/// - Returns: The call's non-negative result.
/// - Throws: `SystemError` with the errno of the failure.
@inline(never)
public func retryingInterrupts<T: FixedWidthInteger>(
    _ call: StaticString,
    detail: @autoclosure () -> String = "",
    _ body: () -> T
) throws(SystemError) -> T {
    while true {
        let result = body()
        if result >= 0 { return result }
        let err = Errno(rawValue: errno)
        if err == .interrupted { continue }
        preconditionIsAcceptable(err, call)
        throw SystemError(errno: err, call: "\(call)", detail: detail())
    }
}

/// Runs a call on a non-blocking descriptor: EINTR is retried, EAGAIN/EWOULDBLOCK become `.wouldBlock`.
///
/// - Parameters:
///   - call: The C function's name, for the error.
///   - detail: What it acts on, evaluated only on failure.
///   - body: The call; returns -1 and sets errno on failure.
/// - Returns: `.processed(result)` or `.wouldBlock`.
/// - Throws: `SystemError` for any other failure.
@inline(never)
public func nonBlocking<T: FixedWidthInteger & Sendable>(
    _ call: StaticString,
    detail: @autoclosure () -> String = "",
    _ body: () -> T
) throws(SystemError) -> IOResult<T> {
    while true {
        let result = body()
        if result >= 0 { return .processed(result) }
        let code = errno
        if code == EINTR { continue }
        // EAGAIN and EWOULDBLOCK are equal on Linux; match both so the code says what it means.
        if code == EAGAIN || code == EWOULDBLOCK { return .wouldBlock }
        let err = Errno(rawValue: code)
        preconditionIsAcceptable(err, call)
        throw SystemError(errno: err, call: "\(call)", detail: detail())
    }
}

/// Closes a descriptor exactly once. EINTR counts as closed: on Linux the descriptor is released before
/// close(2) can be interrupted, and retrying could close a descriptor another thread just opened
/// (https://lwn.net/Articles/576478/). Other errors are ignored; there is nothing useful to do with them.
/// The corresponding C function is `close(2)`.
@inline(never)
public func closeDescriptor(_ descriptor: CInt) {
    precondition(descriptor >= 0, "close of an already closed descriptor")
    if Glibc.close(descriptor) == -1 && errno == EBADF {
        preconditionFailure("close(\(descriptor)): Bad file descriptor (closed twice?)")
    }
}

/// EBADF and EFAULT mean this program handed the kernel a wrong descriptor or pointer: a bug, not a
/// condition to handle (NIO's "unacceptable errno").
@inline(__always)
private func preconditionIsAcceptable(_ err: Errno, _ call: StaticString) {
    precondition(err != .badFileDescriptor && err != .badAddress, "\(call): unacceptable errno \(err.name): \(err)")
}
