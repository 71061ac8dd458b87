// ServerFlags.swift -- options every event-loop server shares, and the loop that runs one.
import ArgumentParser
import Glibc
import SocketCore

/// --max-conns, --backlog, --grace, --backend.
struct ServerFlags: ParsableArguments {
    @Option(
        name: .customLong("max-conns"),
        help: ArgumentHelp(
            "Most connections open at once; more wait in the kernel's listen queue. Default: the descriptor limit (raised to the hard limit) minus what is open and a reserve of up to \(ServerOptions.descriptorReserve).",
            valueName: "n"
        )
    )
    var maxConnections: Int?

    @Option(help: ArgumentHelp("Listen backlog (the kernel caps it at net.core.somaxconn).", valueName: "n"))
    var backlog: Int32 = Socket.defaultBacklog

    @Option(
        parsing: .unconditional,
        help: ArgumentHelp(
            "On SIGINT, SIGTERM or SIGHUP, seconds to let responses in flight finish before closing.",
            valueName: "seconds"
        )
    )
    var grace: Seconds = 5

    @Option(
        help: ArgumentHelp(
            "Readiness API: poll (portable, the guide's selectors) or epoll (Linux, for many connections). Default: \(Backend.variable) if set, else poll.",
            valueName: "backend"
        )
    )
    var backend: SelectorKind?

    @OptionGroup var stats: StatsFlags
    @OptionGroup var reuse: ReuseAddressFlag

    func validate() throws {
        if let maxConnections, maxConnections < 1 { throw ValidationError("--max-conns must be at least 1.") }
        if backlog < 1 { throw ValidationError("--backlog must be at least 1.") }
        if grace < 0 { throw ValidationError("--grace must not be negative.") }
    }

    /// --backend if given, else the environment's (see `Backend`).
    func selectedBackend() throws -> SelectorKind {
        try backend ?? Backend.fromEnvironment()
    }

    /// - Parameter loops: `--workers`, where the command has it.
    func options(address: SocketAddress, loops: Int = 1) -> ServerOptions {
        // A server wants every descriptor it may have; the default cap follows the raised limit.
        DescriptorLimit.raiseToHardLimit()
        var options = ServerOptions(
            address: address,
            maxConnections: maxConnections,
            backlog: backlog,
            grace: grace.asDuration,
            loops: loops
        )
        options.reuseAddress = reuse.reuseAddress
        return options
    }
}

/// --stats-interval: the stats line SIGUSR1 prints, every so often.
struct StatsFlags: ParsableArguments {
    @Option(
        parsing: .unconditional,
        help: ArgumentHelp(
            "Print the stats line (what SIGUSR1 prints) every this many seconds.",
            valueName: "seconds"
        )
    )
    var statsInterval: Seconds?

    func validate() throws {
        if let statsInterval, statsInterval.value < 0.001 {
            throw ValidationError("--stats-interval must be at least 0.001 seconds.")
        }
    }
}

/// Runs a server until SIGINT, SIGTERM or SIGHUP: the first stops accepting and lets work in flight finish
/// within --grace; a second one exits at once. SIGUSR1 prints the stats line.
func runUntilSignalled(
    _ server: some SupervisedServer,
    log: EventLog,
    service: ServiceManagerSettings,
    statsInterval: Seconds?
) throws {
    ignoreBrokenPipeSignal()
    let supervisor = ServerSupervisor(
        server: server,
        log: log,
        settings: service,
        statsInterval: statsInterval?.asDuration
    )
    var drainSignals = 0
    try server.reactor.handleSignals(
        SignalNumber.draining + [SignalNumber.stats],
        requests: [SignalNumber.stats]
    ) { signal in
        if signal != SignalNumber.stats {
            drainSignals += 1
            if drainSignals > 1 {
                log.flush()
                exit(128 + signal)
            }
            // Several loops: the second signal must not depend on this loop, which may wait for a stuck one.
            if server is ServerWorkers { SignalPipe.shared.exitOnNextEndingSignal() }
        }
        supervisor.signalled(signal)
    }
    try supervisor.run()
}

/// --workers: `serve multi` and `serve app` only.
struct WorkersFlag: ParsableArguments {
    @Option(
        help: ArgumentHelp(
            "Event loops, each on its own thread, all accepting from the one listening socket; the limits "
                + "(--max-conns, budgets) and the stats stay those of the whole server. 1 (the default) is the "
                + "guide's single loop. More help when requests cost CPU and the machine has cores to spare; "
                + "at most \(ServerWorkers.maximumCount).",
            valueName: "n"
        )
    )
    var workers = 1

    func validate() throws {
        guard (1...ServerWorkers.maximumCount).contains(workers) else {
            throw ValidationError(
                "--workers must be from 1 to \(ServerWorkers.maximumCount) (this machine has "
                    + "\(Processors.online()) processor\(Processors.online() == 1 ? "" : "s"); a loop per "
                    + "processor is the most that helps)."
            )
        }
    }
}

/// Runs `first` alone (one loop: the guide's model), or with `workers.workers - 1` more loops made by
/// `makeServer`, until SIGINT, SIGTERM or SIGHUP (see `runUntilSignalled`).
func runServer(
    _ first: ConnectionServer,
    workers: WorkersFlag,
    log: EventLog,
    service: ServiceManagerSettings,
    statsInterval: Seconds?,
    makeServer: @escaping LoopServerMaker
) throws {
    guard workers.workers > 1, let settings = log.settings else {
        try runUntilSignalled(first, log: log, service: service, statsInterval: statsInterval)
        return
    }
    let server = try ServerWorkers(
        first: first,
        count: workers.workers,
        logSettings: settings,
        makeServer: makeServer
    )
    try runUntilSignalled(server, log: log, service: service, statsInterval: statsInterval)
}
