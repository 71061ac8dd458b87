// ServiceNotifier.swift -- sd_notify(3)'s messages at the moments they mean something: READY=1 once the
// server listens (before its first accept), STATUS= with live counts, STOPPING=1 when shutdown begins,
// WATCHDOG=1 every half of $WATCHDOG_USEC from the loop's own timers, so a stuck loop stops the pings.
//
// Without $NOTIFY_SOCKET every call does nothing. A manager that cannot be reached costs one warning,
// never the server.

/// Sends a server's notifications to the service manager.
public final class ServiceNotifier {
    /// How often STATUS= is refreshed (sent only when its text changed).
    public static let statusInterval: Duration = .seconds(2)
    /// How long READY=1 waits for room in a full manager queue (libsystemd waits forever): lost, the
    /// manager would wait for it until its start timeout and then kill the server.
    static let readyPatience: Duration = .seconds(20)
    /// How long STOPPING=1 waits: the server is going anyway.
    static let stoppingPatience: Duration = .seconds(2)

    private let address: NotifySocketAddress?
    /// How often WATCHDOG=1 is due; nil when the manager set no watchdog.
    public let watchdogInterval: Duration?
    private let log: EventLog
    private var lastStatus = ""
    private var hasWarned = false
    private var timers: [RepeatingTimer] = []
    /// The loop the timers run on.
    private weak var reactor: Reactor?

    public init(settings: ServiceManagerSettings, log: EventLog) {
        self.address = settings.notifySocket
        self.watchdogInterval = settings.notifySocket == nil ? nil : settings.watchdogInterval
        self.log = log
    }

    /// True when a service manager listens.
    public var isActive: Bool { address != nil }

    /// READY=1 with the first status: call it once listening, before the loop accepts anything.
    public func ready(status: String) {
        lastStatus = status
        send("READY=1\nSTATUS=\(status)", patience: Self.readyPatience)
    }

    /// STOPPING=1: shutdown began (the listener is closed; work in flight may still finish).
    public func stopping(status: String) {
        cancelTimers()
        lastStatus = status
        send("STOPPING=1\nSTATUS=\(status)", patience: Self.stoppingPatience)
    }

    /// WATCHDOG=1: the caller's loop is alive. Servers without a reactor call it every `watchdogInterval`.
    public func watchdog() {
        send("WATCHDOG=1", patience: .zero)
    }

    /// STATUS=, when the text changed since the last one sent.
    public func status(_ text: String) {
        guard text != lastStatus else { return }
        lastStatus = text
        send("STATUS=\(text)", patience: .zero)
    }

    /// Starts the periodic messages on `reactor`: STATUS= when `status()` changed, and WATCHDOG=1 while
    /// `healthy()` says every loop is turning.
    public func startTimers(on reactor: Reactor, status: @escaping () -> String, healthy: @escaping () -> Bool) {
        guard isActive else { return }
        self.reactor = reactor
        let statusTimer = reactor.scheduleRepeating(every: Self.statusInterval) { [unowned self] _ in
            self.status(status())
        }
        timers.append(statusTimer)
        if let watchdogInterval {
            // The first ping at once: the manager's clock started with the process, not with the listener.
            watchdog()
            let watchdogTimer = reactor.scheduleRepeating(every: watchdogInterval) { [unowned self] _ in
                if healthy() { self.watchdog() }
            }
            timers.append(watchdogTimer)
        }
    }

    private func cancelTimers() {
        if let reactor { for timer in timers { timer.cancel(in: reactor) } }
        timers.removeAll()
    }

    private func send(_ message: String, patience: Duration) {
        guard let address else { return }
        do {
            try NotifySocket.send(message, to: address, patience: patience)
        } catch {
            guard !hasWarned else { return }
            hasWarned = true
            log.warning(
                "cannot notify the service manager at NOTIFY_SOCKET=\(address): \(error); further failures "
                    + "are not logged",
                fields: [("reason", .string("notify")), ("errno", .string(error.errno.name))]
            )
        }
    }
}

@available(*, unavailable)
extension ServiceNotifier: Sendable {}
