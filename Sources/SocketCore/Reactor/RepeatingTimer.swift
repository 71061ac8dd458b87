// RepeatingTimer.swift -- an action every interval on the loop's timers (watchdog pings, periodic stats),
// on a fixed schedule: each deadline is the last one plus the interval, so a slow turn delays one firing
// without shifting every later one.

/// A periodic timer. Cancel it with `cancel(in:)`; it is inert afterwards.
public final class RepeatingTimer {
    /// Nanoseconds between firings.
    fileprivate let interval: UInt64
    private let action: (Reactor) -> Void
    private var timer: ReactorTimer?

    fileprivate init(interval: Duration, action: @escaping (Reactor) -> Void) {
        self.interval = max(interval.nanoseconds, 1_000_000)
        self.action = action
    }

    /// True until cancelled.
    public var isScheduled: Bool { timer != nil }

    fileprivate func arm(on reactor: Reactor, at deadline: UInt64) {
        timer = reactor.schedule(atNanoseconds: deadline) { [weak self] reactor in
            guard let self, self.timer != nil else { return }
            self.action(reactor)
            guard self.timer != nil else { return }  // the action cancelled it
            // Behind by more than an interval (the process was stopped): skip to the next slot from now.
            let next = deadline &+ self.interval
            self.arm(on: reactor, at: next > reactor.now ? next : reactor.now &+ self.interval)
        }
    }

    /// Stops the timer; safe inside its own action and more than once.
    public func cancel(in reactor: Reactor) {
        guard let timer else { return }
        self.timer = nil
        reactor.cancel(timer)
    }
}

@available(*, unavailable)
extension RepeatingTimer: Sendable {}

extension Reactor {
    /// Runs `action` every `interval` (at least 1 ms), the first time one interval from now.
    public func scheduleRepeating(every interval: Duration, _ action: @escaping (Reactor) -> Void) -> RepeatingTimer {
        let repeating = RepeatingTimer(interval: interval, action: action)
        repeating.arm(on: self, at: MonotonicClock.now() &+ repeating.interval)
        return repeating
    }
}
