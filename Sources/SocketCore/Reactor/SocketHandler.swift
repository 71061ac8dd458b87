// SocketHandler.swift -- the object a reactor calls when its descriptor is ready.

/// An object the reactor drives. All calls happen on the reactor's thread.
///
/// Readiness is a hint: a read or write may still return `.wouldBlock`, and handlers must accept that.
public protocol SocketHandler: AnyObject {
    /// POLLIN, POLLHUP or POLLERR: read until `.wouldBlock`, end of stream, or a per-turn budget. A hang-up
    /// or error arrives here too, so that `read` reports the end of stream or the error itself.
    func readable(in reactor: Reactor)
    /// POLLOUT: flush pending output; when it is empty, drop `.writable` interest.
    func writable(in reactor: Reactor)
}
