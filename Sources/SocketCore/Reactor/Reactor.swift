// Reactor.swift -- the event loop every server and the multi-connection clients run on.
//
// One loop per thread over a readiness backend (poll() by default). Registrations live in a table indexed
// by descriptor, each with a generation number; fired events are copied out of the backend and tagged
// with the generation before any handler runs, and checked again before each callback, so a handler may
// close, deregister or register any descriptor (its own or another's) in the middle of a turn.

/// A poll()-based event loop with timers and signal wake-ups.
public final class Reactor {
    /// The readiness API in use.
    public let kind: SelectorKind
    private let backend: any SelectorBackend

    private struct Registration {
        var handler: any SocketHandler
        var interest: Interest
        var generation: UInt32
        /// True while the backend watches the descriptor (only while `interest` is not empty: a hung-up
        /// descriptor with no interest would otherwise wake poll() on every turn).
        var inBackend: Bool
        /// Internal registrations (signals, wake-ups) do not keep `run()` going on their own.
        var isInternal: Bool
        /// Other loops watch the descriptor too (`registerShared`): the backend is asked to wake only one.
        var isShared = false
    }

    /// Indexed by descriptor; nil where nothing is registered.
    private var registrations: [Registration?] = []
    private var nextGeneration: UInt32 = 1
    private var userRegistrationCount = 0
    /// Events of the current turn; reused so the loop does not allocate.
    private var fired: [FiredEvent] = []
    private var timers = TimerHeap()
    private var stopRequested = false
    private var beforeSleepHooks: [() -> Void] = []
    private var signalAction: ((CInt) -> Void)?

    /// The time at the start of the current turn (`MonotonicClock` nanoseconds).
    public private(set) var now: UInt64
    /// Counts the loop's turns (one wait and what it woke), so work can be budgeted per turn.
    public private(set) var turn: UInt64 = 0

    /// Creates a loop on the given backend.
    public init(kind: SelectorKind = .poll) throws(SystemError) {
        self.kind = kind
        switch kind {
        case .poll: backend = PollSelector()
        case .epoll: backend = try EpollSelector()
        }
        now = MonotonicClock.now()
        fired.reserveCapacity(256)
    }

    deinit {
        backend.close()
    }

    /// Descriptors registered by callers (not counting the loop's own).
    public var registeredCount: Int { userRegistrationCount }

    // MARK: - Registration

    /// Starts driving `handler` for `descriptor`.
    ///
    /// - Throws: `SystemError` from the backend (epoll_ctl), e.g. ENOMEM.
    public func register(descriptor: CInt, interest: Interest, handler: some SocketHandler) throws(SystemError) {
        try register(descriptor: descriptor, interest: interest, handler: handler, isInternal: false)
    }

    /// Starts driving `handler` for `socket`.
    public func register(_ socket: Socket, interest: Interest, handler: some SocketHandler) throws(SystemError) {
        try register(descriptor: socket.descriptor, interest: interest, handler: handler, isInternal: false)
    }

    /// Starts driving `handler` for a listening socket that other loops (on other threads) watch too: with
    /// epoll a new connection wakes one sleeping loop (EPOLLEXCLUSIVE), with poll() every loop, and those
    /// that lose the race find nothing to accept. Interest changes on it remove and add it again, since
    /// epoll refuses to modify an exclusive registration.
    public func registerShared(_ socket: Socket, interest: Interest, handler: some SocketHandler) throws(SystemError) {
        try register(
            descriptor: socket.descriptor,
            interest: interest,
            handler: handler,
            isInternal: false,
            isShared: true
        )
    }

    private func register(
        descriptor: CInt,
        interest: Interest,
        handler: any SocketHandler,
        isInternal: Bool,
        isShared: Bool = false
    ) throws(SystemError) {
        let fd = Int(descriptor)
        precondition(fd >= 0, "register of a closed descriptor")
        if fd >= registrations.count {
            registrations.append(contentsOf: repeatElement(nil, count: fd + 1 - registrations.count + 64))
        }
        precondition(registrations[fd] == nil, "descriptor \(fd) registered twice")
        if !interest.isEmpty { try backend.add(descriptor, interest: interest, exclusive: isShared) }
        registrations[fd] = Registration(
            handler: handler,
            interest: interest,
            generation: nextGeneration,
            inBackend: !interest.isEmpty,
            isInternal: isInternal,
            isShared: isShared
        )
        nextGeneration &+= 1
        if !isInternal { userRegistrationCount += 1 }
    }

    /// Changes what `descriptor` is watched for. Does nothing if it is not registered or nothing changes.
    public func setInterest(_ interest: Interest, for descriptor: CInt) {
        let fd = Int(descriptor)
        guard fd < registrations.count, var registration = registrations[fd], registration.interest != interest else {
            return
        }
        do {
            if interest.isEmpty {
                if registration.inBackend { backend.remove(descriptor) }
                registration.inBackend = false
            } else if registration.inBackend && !registration.isShared {
                try backend.modify(descriptor, interest: interest)
            } else {
                if registration.inBackend { backend.remove(descriptor) }
                try backend.add(descriptor, interest: interest, exclusive: registration.isShared)
                registration.inBackend = true
            }
        } catch {
            // epoll_ctl fails here only for lack of kernel memory; the loop cannot go on sanely.
            preconditionFailure("\(error)")
        }
        registration.interest = interest
        registrations[fd] = registration
    }

    /// Changes what `socket` is watched for.
    public func setInterest(_ interest: Interest, for socket: Socket) {
        setInterest(interest, for: socket.descriptor)
    }

    /// The interest registered for `descriptor`, or nil when it is not registered.
    public func interest(for descriptor: CInt) -> Interest? {
        let fd = Int(descriptor)
        return fd < registrations.count ? registrations[fd]?.interest : nil
    }

    /// Stops driving `descriptor`. Safe inside any callback, for any descriptor; events already collected
    /// for it this turn are dropped. Call it before closing the descriptor.
    public func deregister(descriptor: CInt) {
        let fd = Int(descriptor)
        guard fd >= 0, fd < registrations.count, let registration = registrations[fd] else { return }
        if registration.inBackend { backend.remove(descriptor) }
        registrations[fd] = nil
        if !registration.isInternal { userRegistrationCount -= 1 }
    }

    /// Stops driving `socket`.
    public func deregister(_ socket: Socket) {
        deregister(descriptor: socket.descriptor)
    }

    // MARK: - Timers

    /// Runs `action` once, `delay` from now.
    @discardableResult
    public func schedule(after delay: Duration, _ action: @escaping (Reactor) -> Void) -> ReactorTimer {
        schedule(atNanoseconds: MonotonicClock.now() &+ delay.nanoseconds, action)
    }

    /// Runs `action` once at a `MonotonicClock` time.
    @discardableResult
    public func schedule(atNanoseconds deadline: UInt64, _ action: @escaping (Reactor) -> Void) -> ReactorTimer {
        timers.schedule(deadline: deadline, action: action)
    }

    /// A timer that is not scheduled yet: schedule it with `schedule(_:atNanoseconds:)`, as often as needed.
    public func makeTimer(_ action: @escaping (Reactor) -> Void) -> ReactorTimer {
        ReactorTimer(deadline: 0, action: action)
    }

    /// Schedules `timer` (made by `makeTimer`) at a `MonotonicClock` time, moving it if it was scheduled.
    public func schedule(_ timer: ReactorTimer, atNanoseconds deadline: UInt64) {
        timers.schedule(timer, deadline: deadline)
    }

    /// Cancels a timer; does nothing if it already fired or was cancelled.
    public func cancel(_ timer: ReactorTimer) {
        timers.cancel(timer)
    }

    // MARK: - Hooks and signals

    /// Runs `hook` before each wait (Redis's `beforesleep`): the place to flush buffered output, so
    /// everything a turn produced is visible before the loop blocks.
    public func addBeforeSleepHook(_ hook: @escaping () -> Void) {
        beforeSleepHooks.append(hook)
    }

    /// Delivers these signals to `action` on the loop's thread instead of their default action. One reactor
    /// per process may do this (the signal pipe is the process's).
    ///
    /// - Parameter requests: Signals among them that ask for something rather than an end (SIGUSR1), so
    ///   several in a row are never taken for a stuck loop (see `SignalPipe.install`).
    public func handleSignals(
        _ signals: [CInt],
        requests: [CInt] = [],
        _ action: @escaping (CInt) -> Void
    ) throws(SystemError) {
        let pipe = SignalPipe.shared
        if signalAction == nil {
            try register(
                descriptor: pipe.pipe.readDescriptor,
                interest: .readable,
                handler: SignalReader(),
                isInternal: true
            )
        }
        signalAction = action
        pipe.install(signals, requests: requests)
    }

    fileprivate func deliverSignals() {
        for signal in SignalPipe.shared.drain() { signalAction?(signal) }
    }

    /// A handle another thread may use to stop this loop (tests run servers on their own threads).
    public func makeRemoteStop() throws(SystemError) -> RemoteStop {
        let remote = try RemoteStop()
        try register(
            descriptor: remote.pipe.readDescriptor,
            interest: .readable,
            handler: RemoteStopReader(remote),
            isInternal: true
        )
        return remote
    }

    /// A handle another thread may use to have `action` run on this loop's thread (once per wake-up
    /// noticed; several wake-ups before the loop runs may be one call). It stays registered for the
    /// loop's life and does not keep `run()` going on its own.
    public func makeWakeUp(_ action: @escaping (Reactor) -> Void) throws(SystemError) -> ReactorWakeUp {
        let wakeUp = try ReactorWakeUp()
        try attach(wakeUp, action)
        return wakeUp
    }

    /// Has `action` run on this loop's thread whenever `wakeUp` (made elsewhere, maybe before this loop
    /// existed) is used; a wake-up sent before the call is noticed at the first turn. As `makeWakeUp`.
    public func attach(_ wakeUp: ReactorWakeUp, _ action: @escaping (Reactor) -> Void) throws(SystemError) {
        try register(
            descriptor: wakeUp.pipe.readDescriptor,
            interest: .readable,
            handler: WakeUpReader(wakeUp, action),
            isInternal: true
        )
    }

    // MARK: - Running

    /// Ends `run()` after the current callback returns.
    public func stop() {
        stopRequested = true
    }

    /// Runs until `stop()` is called, or until nothing is registered and no timer is scheduled.
    ///
    /// - Throws: `SystemError` if the backend fails (not EINTR: the wait goes on for the time that is left).
    public func run() throws(SystemError) {
        stopRequested = false
        while !stopRequested {
            for hook in beforeSleepHooks { hook() }
            if stopRequested || (userRegistrationCount == 0 && timers.isEmpty) { break }
            fired.removeAll(keepingCapacity: true)
            try backend.wait(until: timers.nextDeadline, into: &fired)
            now = MonotonicClock.now()
            turn &+= 1
            tagWithGenerations()
            dispatchFiredEvents()
            runExpiredTimers()
        }
        for hook in beforeSleepHooks { hook() }
    }

    /// Records which registration each event belongs to, before any handler can change the table.
    private func tagWithGenerations() {
        for index in fired.indices {
            let fd = Int(fired[index].descriptor)
            fired[index].generation = fd < registrations.count ? registrations[fd]?.generation ?? 0 : 0
        }
    }

    private func dispatchFiredEvents() {
        for index in fired.indices {
            let event = fired[index]
            var readiness = event.readiness
            guard let registration = current(event) else { continue }
            // A hang-up or error is delivered as readable (Redis, NIO): read() then reports the EOF or the
            // error itself. A handler that is only writing learns of it through write().
            if !readiness.isDisjoint(with: [.hangup, .error]) {
                readiness.insert(registration.interest.contains(.readable) ? .readable : .writable)
            }
            if readiness.contains(.readable) && registration.interest.contains(.readable) {
                registration.handler.readable(in: self)
                if stopRequested { return }
            }
            // The readable callback may have closed or re-registered the descriptor: check again.
            if readiness.contains(.writable), let again = current(event), again.interest.contains(.writable) {
                again.handler.writable(in: self)
                if stopRequested { return }
            }
        }
    }

    /// The registration an event was collected for, if it is still there.
    @inline(__always)
    private func current(_ event: FiredEvent) -> Registration? {
        let fd = Int(event.descriptor)
        guard fd < registrations.count, let registration = registrations[fd],
            registration.generation == event.generation
        else { return nil }
        return registration
    }

    /// Fires every timer due by now. `now` is moved to the same instant first, so an action that compares
    /// deadlines with `reactor.now` agrees with the decision to fire it (otherwise an action could find
    /// nothing due yet, re-arm for a deadline already passed, and be fired again forever).
    private func runExpiredTimers() {
        now = MonotonicClock.now()
        while !stopRequested, let timer = timers.popExpired(now: now) {
            timer.action(self)
        }
    }
}

@available(*, unavailable)
extension Reactor: Sendable {}

/// Reads the signal pipe and hands each signal to the reactor's signal action.
private final class SignalReader: SocketHandler {
    func readable(in reactor: Reactor) { reactor.deliverSignals() }
    func writable(in reactor: Reactor) {}
}

/// A thread-safe way to stop a reactor from outside: a pipe the reactor watches.
public final class RemoteStop: Sendable {
    fileprivate let pipe: WakePipe

    fileprivate init() throws(SystemError) {
        pipe = try WakePipe()
    }

    /// Asks the reactor to stop; returns at once. Safe from any thread, any number of times.
    public func stop() {
        pipe.wake()
    }
}

/// Wakes a reactor from any thread, so it runs the action given to `Reactor.makeWakeUp` or `attach`.
public final class ReactorWakeUp: Sendable {
    fileprivate let pipe: WakePipe

    /// A wake-up for a loop to `attach` later (on its own thread).
    public init() throws(SystemError) {
        pipe = try WakePipe()
    }

    /// Asks the loop to run the action; returns at once. Safe from any thread.
    public func wake() {
        pipe.wake()
    }
}

/// Runs a wake-up's action on the loop's thread. Holds the `ReactorWakeUp`, so its pipe lives as long as
/// the registration does.
private final class WakeUpReader: SocketHandler {
    private let wakeUp: ReactorWakeUp
    private let action: (Reactor) -> Void
    init(_ wakeUp: ReactorWakeUp, _ action: @escaping (Reactor) -> Void) {
        self.wakeUp = wakeUp
        self.action = action
    }
    func readable(in reactor: Reactor) {
        _ = wakeUp.pipe.drain()
        action(reactor)
    }
    func writable(in reactor: Reactor) {}
}

/// Stops the reactor when its `RemoteStop` is used. Holds the `RemoteStop`, so its pipe lives as long as
/// the registration does.
private final class RemoteStopReader: SocketHandler {
    private let remote: RemoteStop
    init(_ remote: RemoteStop) { self.remote = remote }
    func readable(in reactor: Reactor) {
        _ = remote.pipe.drain()
        reactor.stop()
    }
    func writable(in reactor: Reactor) {}
}
