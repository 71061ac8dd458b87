// DeadlineQueue.swift -- deadlines that all have the same length, kept in arrival order: arrival order is
// then deadline order, so adding is O(1), the next deadline is the head, and no connection needs a timer
// object of its own (libev's advice for constant timeouts). Entries name a connection by descriptor and
// serial, never by reference, so a connection that closed early leaves only a stale entry behind.

/// A FIFO of (deadline, descriptor, serial).
struct DeadlineQueue {
    struct Entry {
        var deadline: UInt64
        var descriptor: CInt
        var serial: UInt64
    }

    private var entries: [Entry] = []
    private var head = 0

    var isEmpty: Bool { head == entries.count }

    /// The earliest deadline, or nil.
    var nextDeadline: UInt64? { isEmpty ? nil : entries[head].deadline }

    /// Appends an entry; its deadline must not be earlier than the last one's.
    mutating func append(_ entry: Entry) {
        assert(entries.last.map { $0.deadline <= entry.deadline } ?? true, "deadlines out of order")
        entries.append(entry)
    }

    /// Removes and returns the head if its deadline is at or before `now`.
    mutating func popExpired(now: UInt64) -> Entry? {
        guard head < entries.count, entries[head].deadline <= now else { return nil }
        let entry = entries[head]
        head += 1
        if head == entries.count {
            entries.removeAll(keepingCapacity: entries.capacity <= 1 << 16)
            head = 0
        } else if head >= 1024 && head * 2 >= entries.count {
            entries.removeFirst(head)
            head = 0
        }
        return entry
    }
}
