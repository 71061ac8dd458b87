// ReactorTimer.swift -- one-shot timers for deadlines, kept in a binary min-heap with O(log n) cancel.

/// A scheduled action. Cancel it with `Reactor.cancel(_:)`; a fired or cancelled timer is inert until it is
/// scheduled again (`Reactor.schedule(_:atNanoseconds:)`), so a timer made once can serve a connection's
/// every deadline without an allocation per arm.
public final class ReactorTimer {
    /// When it fires (or last fired), in `MonotonicClock` nanoseconds.
    public fileprivate(set) var deadline: UInt64
    /// Position in the heap; -1 once fired or cancelled.
    fileprivate var heapIndex: Int = -1
    /// Tie-breaker so timers with equal deadlines fire in the order they were scheduled.
    fileprivate var sequence: UInt64 = 0
    let action: (Reactor) -> Void

    init(deadline: UInt64, action: @escaping (Reactor) -> Void) {
        self.deadline = deadline
        self.action = action
    }

    /// True while the timer waits to fire.
    public var isScheduled: Bool { heapIndex >= 0 }
}

@available(*, unavailable)
extension ReactorTimer: Sendable {}

/// A min-heap of timers ordered by (deadline, sequence). Each timer knows its index, so cancel is O(log n).
struct TimerHeap {
    private var entries: [ReactorTimer] = []
    private var nextSequence: UInt64 = 0

    var isEmpty: Bool { entries.isEmpty }
    var count: Int { entries.count }
    /// The earliest deadline, or nil if nothing is scheduled.
    var nextDeadline: UInt64? { entries.first?.deadline }

    mutating func schedule(deadline: UInt64, action: @escaping (Reactor) -> Void) -> ReactorTimer {
        let timer = ReactorTimer(deadline: deadline, action: action)
        schedule(timer, deadline: deadline)
        return timer
    }

    /// Schedules an existing timer for `deadline`, moving it if it is already scheduled.
    mutating func schedule(_ timer: ReactorTimer, deadline: UInt64) {
        if timer.isScheduled { cancel(timer) }
        timer.deadline = deadline
        timer.sequence = nextSequence
        nextSequence &+= 1
        timer.heapIndex = entries.count
        entries.append(timer)
        siftUp(entries.count - 1)
    }

    mutating func cancel(_ timer: ReactorTimer) {
        let index = timer.heapIndex
        guard index >= 0 else { return }
        precondition(index < entries.count && entries[index] === timer, "timer belongs to another reactor")
        timer.heapIndex = -1
        let last = entries.removeLast()
        guard index < entries.count else { return }
        entries[index] = last
        last.heapIndex = index
        siftDown(index)
        siftUp(index)
    }

    /// Removes and returns the earliest timer if its deadline is at or before `now`.
    mutating func popExpired(now: UInt64) -> ReactorTimer? {
        guard let first = entries.first, first.deadline <= now else { return nil }
        cancel(first)
        return first
    }

    private func precedes(_ a: Int, _ b: Int) -> Bool {
        let x = entries[a]
        let y = entries[b]
        return x.deadline < y.deadline || (x.deadline == y.deadline && x.sequence < y.sequence)
    }

    private mutating func swapEntries(_ a: Int, _ b: Int) {
        entries.swapAt(a, b)
        entries[a].heapIndex = a
        entries[b].heapIndex = b
    }

    private mutating func siftUp(_ start: Int) {
        var child = start
        while child > 0 {
            let parent = (child - 1) / 2
            guard precedes(child, parent) else { return }
            swapEntries(child, parent)
            child = parent
        }
    }

    private mutating func siftDown(_ start: Int) {
        var parent = start
        while true {
            let left = 2 * parent + 1
            guard left < entries.count else { return }
            let right = left + 1
            let smaller = right < entries.count && precedes(right, left) ? right : left
            guard precedes(smaller, parent) else { return }
            swapEntries(smaller, parent)
            parent = smaller
        }
    }
}
