// PollSelector.swift -- the poll(2) backend: one pollfd array, an index per descriptor, swap-remove.
import Glibc

/// Readiness from poll(2).
///
/// Invariant: `pollDescriptors[indexOf[fd]].fd == fd` for every watched fd, and `indexOf[fd] == -1` for the rest.
/// Removal swaps the last entry into the hole (mio's poll backend); that is safe at any time because the
/// reactor copies fired events out of the array before it dispatches any of them.
final class PollSelector: SelectorBackend {
    /// The array handed to poll(2); `count` entries are live.
    private var pollDescriptors: UnsafeMutablePointer<pollfd>
    private var capacity: Int
    private var count = 0
    /// Position of each descriptor in `pollDescriptors`, indexed by descriptor number; -1 when not watched.
    private var indexOf: [Int32] = []

    init() {
        capacity = 64
        pollDescriptors = .allocate(capacity: capacity)
    }

    func close() {
        pollDescriptors.deallocate()
        capacity = 0
        count = 0
    }

    func add(_ descriptor: CInt, interest: Interest, exclusive: Bool) throws(SystemError) {
        let fd = Int(descriptor)
        if fd >= indexOf.count { indexOf.append(contentsOf: repeatElement(-1, count: fd + 1 - indexOf.count + 64)) }
        precondition(indexOf[fd] == -1, "descriptor \(fd) added twice")
        if count == capacity {
            let grown = UnsafeMutablePointer<pollfd>.allocate(capacity: capacity * 2)
            grown.moveInitialize(from: pollDescriptors, count: count)
            pollDescriptors.deallocate()
            pollDescriptors = grown
            capacity *= 2
        }
        pollDescriptors[count] = pollfd(fd: descriptor, events: Self.events(for: interest), revents: 0)
        indexOf[fd] = Int32(count)
        count += 1
    }

    func modify(_ descriptor: CInt, interest: Interest) throws(SystemError) {
        let index = Int(indexOf[Int(descriptor)])
        precondition(index >= 0, "modify of unwatched descriptor \(descriptor)")
        pollDescriptors[index].events = Self.events(for: interest)
    }

    func remove(_ descriptor: CInt) {
        let fd = Int(descriptor)
        let index = Int(indexOf[fd])
        precondition(index >= 0, "remove of unwatched descriptor \(fd)")
        count -= 1
        if index != count {
            pollDescriptors[index] = pollDescriptors[count]
            indexOf[Int(pollDescriptors[index].fd)] = Int32(index)
        }
        indexOf[fd] = -1
    }

    func wait(until deadline: UInt64?, into events: inout [FiredEvent]) throws(SystemError) {
        let (descriptors, watched) = (pollDescriptors, nfds_t(count))
        let ready = try waitingThroughInterrupts("poll", until: deadline) { Glibc.poll(descriptors, watched, $0) }
        var remaining = Int(ready)
        var index = 0
        while remaining > 0 && index < count {
            let revents = pollDescriptors[index].revents
            if revents != 0 {
                remaining -= 1
                // POLLNVAL: a descriptor was closed while still registered. That is a bug in this program.
                precondition(
                    Int32(revents) & POLLNVAL == 0,
                    "poll: descriptor \(pollDescriptors[index].fd) is not open"
                )
                events.append(
                    FiredEvent(descriptor: pollDescriptors[index].fd, readiness: Self.readiness(from: revents))
                )
            }
            index += 1
        }
    }

    @inline(__always)
    private static func events(for interest: Interest) -> Int16 {
        var events: Int16 = 0
        if interest.contains(.readable) { events |= Int16(POLLIN) }
        if interest.contains(.writable) { events |= Int16(POLLOUT) }
        return events
    }

    @inline(__always)
    private static func readiness(from revents: Int16) -> Readiness {
        let bits = Int32(revents)
        var readiness: Readiness = []
        if bits & POLLIN != 0 { readiness.insert(.readable) }
        if bits & POLLOUT != 0 { readiness.insert(.writable) }
        if bits & POLLHUP != 0 { readiness.insert(.hangup) }
        if bits & POLLERR != 0 { readiness.insert(.error) }
        return readiness
    }
}
