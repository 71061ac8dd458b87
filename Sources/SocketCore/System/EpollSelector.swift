// EpollSelector.swift -- the epoll(7) backend, level-triggered like poll(), through the C shim
// (struct epoll_event is packed on x86_64, which Swift cannot import).
import CSocketShim
import Glibc

/// Readiness from epoll(7): the cost of a wait grows with the ready descriptors, not the registered ones.
final class EpollSelector: SelectorBackend {
    private var epollDescriptor: CInt
    private var buffer = [st_epoll_event](repeating: st_epoll_event(), count: 256)

    init() throws(SystemError) {
        epollDescriptor = try retryingInterrupts("epoll_create1") { st_epoll_create() }
    }

    func close() {
        guard epollDescriptor >= 0 else { return }
        closeDescriptor(epollDescriptor)
        epollDescriptor = -1
    }

    func add(_ descriptor: CInt, interest: Interest, exclusive: Bool) throws(SystemError) {
        let epfd = epollDescriptor
        // EPOLLEXCLUSIVE: when several loops' epoll instances watch one listening socket (--workers), a new
        // connection wakes one of the loops that are asleep in epoll_wait, not every one (the thundering
        // herd). Only EPOLL_CTL_ADD takes it; the reactor never modifies such a registration (it removes
        // and adds again).
        let events = Self.events(for: interest) | (exclusive ? UInt32(ST_EPOLLEXCLUSIVE) : 0)
        _ = try retryingInterrupts("epoll_ctl(ADD)", detail: String(descriptor)) {
            st_epoll_ctl(epfd, 1, descriptor, events)
        }
    }

    func modify(_ descriptor: CInt, interest: Interest) throws(SystemError) {
        let epfd = epollDescriptor
        _ = try retryingInterrupts("epoll_ctl(MOD)", detail: String(descriptor)) {
            st_epoll_ctl(epfd, 3, descriptor, Self.events(for: interest))
        }
    }

    func remove(_ descriptor: CInt) {
        // ENOENT cannot happen (the reactor removes only what it added); nothing else is recoverable.
        let result = st_epoll_ctl(epollDescriptor, 2, descriptor, 0)
        precondition(result == 0 || errno == ENOENT, "epoll_ctl(DEL, \(descriptor)): \(Errno(rawValue: errno))")
    }

    func wait(until deadline: UInt64?, into events: inout [FiredEvent]) throws(SystemError) {
        let epfd = epollDescriptor
        let ready = try buffer.withUnsafeMutableBufferPointer { slots throws(SystemError) -> CInt in
            let (base, capacity) = (slots.baseAddress, CInt(slots.count))
            return try waitingThroughInterrupts("epoll_wait", until: deadline) {
                st_epoll_wait(epfd, base, capacity, $0)
            }
        }
        for index in 0..<Int(ready) {
            let bits = buffer[index].events
            var readiness: Readiness = []
            if bits & UInt32(ST_EPOLLIN) != 0 { readiness.insert(.readable) }
            if bits & UInt32(ST_EPOLLOUT) != 0 { readiness.insert(.writable) }
            if bits & UInt32(ST_EPOLLHUP) != 0 { readiness.insert(.hangup) }
            if bits & UInt32(ST_EPOLLERR) != 0 { readiness.insert(.error) }
            events.append(FiredEvent(descriptor: buffer[index].fd, readiness: readiness))
        }
    }

    private static func events(for interest: Interest) -> UInt32 {
        var events: UInt32 = 0
        if interest.contains(.readable) { events |= UInt32(ST_EPOLLIN) }
        if interest.contains(.writable) { events |= UInt32(ST_EPOLLOUT) }
        return events
    }
}
