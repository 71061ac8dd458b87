// ServerSupervisor.swift -- runs a reactor server as an operator expects a daemon to run: SIGINT, SIGTERM and
// SIGHUP drain it, SIGUSR1 prints its stats line, --stats-interval prints it periodically, and a service
// manager hears READY=1 before the first accept, STATUS= as the counts change, STOPPING=1 when draining
// starts and WATCHDOG=1 while the loops turn.
//
// Signals reach it through `signalled(_:)`, which the command line wires to the process's signal pipe
// (one reactor per process may own it); tests call it directly.

/// A server the supervisor can run: one loop (`ConnectionServer`) or several (`ServerWorkers`).
public protocol SupervisedServer: AnyObject {
    /// The loop the supervisor's timers and signals run on.
    var reactor: Reactor { get }
    /// Where it listens.
    var address: SocketAddress { get }
    /// Prints the listening line and registers the listener; accepting starts when the loop runs.
    func start() throws(SystemError)
    /// Runs until the server has drained (after `beginShutdown`).
    func run() throws(SystemError)
    /// Prints the shutdown line for `signal`, stops accepting and lets work in flight finish (within the
    /// grace period).
    func beginShutdown(after signal: CInt)
    /// The counters, summed over every loop, and the uptime.
    func statsReport() -> ServerStatsReport
    /// True when every loop has turned recently (what WATCHDOG=1 vouches for).
    var loopsAreTurning: Bool { get }
}

/// Signals, stats and service-manager notifications around a server.
public final class ServerSupervisor {
    private let server: any SupervisedServer
    private let log: EventLog
    private let notifier: ServiceNotifier
    private let statsInterval: Duration?
    private var statsTimer: RepeatingTimer?
    /// The signal that began the drain, once one did.
    public private(set) var drainSignal: CInt?

    /// - Parameters:
    ///   - settings: The service manager's variables (`ServiceManagerSettings.none` outside one).
    ///   - statsInterval: Print the stats line this often; nil only on SIGUSR1.
    public init(
        server: any SupervisedServer,
        log: EventLog,
        settings: ServiceManagerSettings,
        statsInterval: Duration? = nil
    ) {
        self.server = server
        self.log = log
        self.notifier = ServiceNotifier(settings: settings, log: log)
        self.statsInterval = statsInterval
    }

    /// Starts the server, tells the manager it is ready, and runs until it has drained.
    public func run() throws(SystemError) {
        try start()
        try server.run()
        log.flush()
    }

    /// The listening line, then READY=1 and the timers: all before the loop's first accept.
    public func start() throws(SystemError) {
        try server.start()
        // The listening line reaches stdout before READY=1 reaches the manager: a script that starts the
        // unit and reads the journal finds the address there.
        log.flush()
        let report = { [unowned self] in self.server.statsReport() }
        notifier.ready(status: "Listening on \(server.address)")
        notifier.startTimers(
            on: server.reactor,
            status: { "Listening on \(self.server.address): " + report().status },
            healthy: { [unowned self] in self.server.loopsAreTurning }
        )
        if let statsInterval {
            statsTimer = server.reactor.scheduleRepeating(every: statsInterval) { [unowned self] _ in
                self.log.stats(report())
            }
        }
    }

    /// SIGUSR1 prints the stats line; SIGINT, SIGTERM and SIGHUP begin the drain (the command line decides
    /// what a second one does).
    public func signalled(_ signal: CInt) {
        if signal == SignalNumber.stats {
            log.stats(server.statsReport())
            return
        }
        guard drainSignal == nil else { return }
        drainSignal = signal
        if let statsTimer { statsTimer.cancel(in: server.reactor) }
        server.beginShutdown(after: signal)
        let open = server.statsReport().counters.open
        notifier.stopping(
            status: "Stopping (\(signalName(signal))): \(open) connection\(open == 1 ? "" : "s") finishing"
        )
    }
}

@available(*, unavailable)
extension ServerSupervisor: Sendable {}

extension ConnectionServer: SupervisedServer {
    public func run() throws(SystemError) {
        try reactor.run()
        closeAll()
    }

    public func beginShutdown(after signal: CInt) {
        log.shutdown(signal)
        beginShutdown()
    }

    /// One loop, and it is the one running the watchdog's timer.
    public var loopsAreTurning: Bool { true }
}
