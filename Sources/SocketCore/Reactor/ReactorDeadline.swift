// ReactorDeadline.swift -- the one deadline helper: a timeout that may count from the last progress, on the
// reactor's clock, for servers (idle connections, lingering) and clients (handshake, progress) alike.
//
// Progress only records the time; the timer, when it fires, either reports the deadline or sleeps until the
// moved one (a lazily re-armed timer), so a busy connection costs no timer work per read. The timer object
// is made once per helper and scheduled again as needed: arming allocates nothing.

/// A timeout measured from the last progress: the arithmetic every inactivity deadline shares, on the
/// reactor or in a blocking loop (`serve echo`).
public struct Inactivity: Sendable, Equatable {
    /// Nanoseconds without progress allowed; nil never expires.
    public var timeout: UInt64?
    /// When progress was last made (`MonotonicClock` nanoseconds).
    public private(set) var lastProgress: UInt64

    /// Starts counting at `now`; a nil or zero timeout never expires.
    public init(timeout: Duration?, now: UInt64) {
        let nanoseconds = timeout?.nanoseconds ?? 0
        self.timeout = nanoseconds > 0 ? nanoseconds : nil
        self.lastProgress = now
    }

    /// Progress at `now`: the deadline moves to `timeout` after it.
    @inline(__always)
    public mutating func progress(at now: UInt64) { lastProgress = now }

    /// When it expires if nothing happens before; nil never.
    public var expiry: UInt64? { timeout.map { lastProgress &+ $0 } }

    /// True once `timeout` has passed without progress.
    public func hasExpired(at now: UInt64) -> Bool {
        guard let timeout else { return false }
        return now &- lastProgress >= timeout
    }
}

/// The owner of a `ReactorDeadline`: told when it passes.
public protocol DeadlineOwner: AnyObject {
    /// `deadline` passed (and is no longer armed). Called on the reactor's thread.
    func deadlinePassed(_ deadline: ReactorDeadline, in reactor: Reactor)
}

/// A deadline on a reactor's clock: fixed (`arm(at:)`) or counting from progress (`arm(after:)` + `progress()`).
public final class ReactorDeadline {
    private unowned let reactor: Reactor
    private unowned let owner: any DeadlineOwner
    /// Made on first use and reused for every arm.
    private var timer: ReactorTimer?
    /// The deadline in force; nil when disarmed.
    private var state: Inactivity?
    /// True when `progress()` moves the deadline (an inactivity timeout), false for a fixed one.
    private var movesWithProgress = false

    public init(reactor: Reactor, owner: some DeadlineOwner) {
        self.reactor = reactor
        self.owner = owner
    }

    /// True while armed.
    public var isArmed: Bool { state?.expiry != nil }

    /// The timeout in force, in nanoseconds (nil: disarmed or never).
    public var timeout: UInt64? { state?.timeout }

    /// Arms an inactivity timeout: `timeout` from now, moved by every `progress()`. Nil or zero disarms it.
    public func arm(after timeout: Duration?, movingWithProgress: Bool = true) {
        let inactivity = Inactivity(timeout: timeout, now: reactor.now)
        movesWithProgress = movingWithProgress
        guard let expiry = inactivity.expiry else {
            cancel()
            return
        }
        state = inactivity
        schedule(at: expiry)
    }

    /// Arms a fixed deadline at a `MonotonicClock` time (progress does not move it).
    public func arm(at deadline: UInt64) {
        let now = reactor.now
        state = Inactivity(timeout: .nanoseconds(Int64(clamping: deadline > now ? deadline - now : 1)), now: now)
        movesWithProgress = false
        schedule(at: deadline)
    }

    /// Progress: an inactivity deadline moves to its timeout from now. No timer work.
    @inline(__always)
    public func progress() {
        if movesWithProgress { state?.progress(at: reactor.now) }
    }

    /// Disarms; the owner is not told.
    public func cancel() {
        state = nil
        if let timer { reactor.cancel(timer) }
    }

    private func schedule(at deadline: UInt64) {
        let timer =
            self.timer
            ?? reactor.makeTimer { [unowned self] reactor in self.fired(in: reactor) }
        self.timer = timer
        reactor.schedule(timer, atNanoseconds: deadline)
    }

    private func fired(in reactor: Reactor) {
        guard let current = state, let expiry = current.expiry else { return }
        if current.hasExpired(at: reactor.now) {
            state = nil
            owner.deadlinePassed(self, in: reactor)
        } else {
            schedule(at: expiry)
        }
    }
}

@available(*, unavailable)
extension ReactorDeadline: Sendable {}
