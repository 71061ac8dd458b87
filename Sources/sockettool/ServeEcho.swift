// ServeEcho.swift -- `serve echo`: the guide's echo-server.py.
import ArgumentParser
import Glibc
import SocketCore

struct ServeEcho: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "echo",
        abstract: "echo-server.py: one client on a blocking socket, echoed until it closes.",
        discussion: """
            Accepts one connection, sends back every byte it receives, and exits
            when the client closes. With --keep it serves clients one after
            another; the next one waits in the listen queue meanwhile (for many at
            once, see 'serve multi').

            Example:
              sockettool serve echo 127.0.0.1 65432
              sockettool connect 127.0.0.1 65432   (in another terminal)
            """
    )

    @OptionGroup var endpoint: ServerEndpoint

    @Flag(help: "Serve clients one after another instead of exiting after the first.")
    var keep = false

    @Option(
        parsing: .unconditional,
        help: ArgumentHelp(
            "Close a client after this many seconds without data; 0 never. Default: 300.",
            valueName: "seconds"
        )
    )
    var idleTimeout: Seconds?

    /// --idle-timeout, or its default.
    var idleSeconds: Seconds { idleTimeout ?? 300 }

    @OptionGroup var stats: StatsFlags
    @OptionGroup var reuse: ReuseAddressFlag
    @OptionGroup var datagram: DatagramFlag

    @OptionGroup var output: OutputOptions

    func validate() throws {
        _ = try endpoint.resolved(for: PortTransport(udp: datagram.udp))
        if let idleTimeout, idleTimeout < 0 { throw ValidationError("--idle-timeout must not be negative.") }
        if !datagram.udp { try reuse.refuse(withUnix: endpoint.unixPath) }
        if datagram.udp {
            // Each would be accepted and silently do nothing: a datagram server has no clients to keep or
            // time out, no TIME_WAIT, and no Unix datagram socket here.
            let ignored: [(given: Bool, flag: String, why: String)] = [
                (keep, "--keep", "a datagram server answers everyone until it is stopped"),
                (idleTimeout != nil, "--idle-timeout", "UDP has no connection to time out"),
                (reuse.noReuseAddress, "--no-reuseaddr", "the UDP socket is bound without SO_REUSEADDR already"),
                (endpoint.unixPath != nil, "--unix", "Unix datagram sockets are not supported"),
            ]
            if let first = ignored.first(where: \.given) {
                throw ValidationError("--udp ignores \(first.flag): \(first.why). Drop it.")
            }
        }
    }

    func run() throws {
        let log = output.makeLog()
        if datagram.udp {
            try reportingFailures(log) { try serveDatagrams(log: log) }
            return
        }
        try reportingFailures(log) {
            ignoreBrokenPipeSignal()
            SignalPipe.shared.install(SignalNumber.draining + [SignalNumber.stats], requests: [SignalNumber.stats])
            let options = BlockingEchoOptions(
                keepServing: keep,
                idleTimeout: idleSeconds > 0 ? idleSeconds.asDuration : nil,
                reuseAddress: reuse.reuseAddress
            )
            let service = try ServiceEnvironment.take(log: log)
            let listener = try ServiceEnvironment.listener(
                service,
                blocking: true,
                endpointGiven: endpoint.isGiven,
                log: log
            )
            let server = try BlockingEchoServer(
                address: try listener?.localAddress() ?? endpoint.address(log: log, for: .tcp),
                options: options,
                log: log,
                signals: SignalPipe.shared,
                listeningSocket: listener
            )
            let notifier = ServiceNotifier(settings: service, log: log)
            if let interval = stats.statsInterval?.asDuration {
                server.every(interval) { log.stats(server.statsReport()) }
            }
            if let interval = notifier.watchdogInterval { server.every(interval) { notifier.watchdog() } }
            if notifier.isActive {
                server.every(ServiceNotifier.statusInterval) {
                    notifier.status("Listening on \(server.address): " + server.statsReport().status)
                }
            }
            server.start()
            notifier.ready(status: "Listening on \(server.address)")
            if notifier.watchdogInterval != nil { notifier.watchdog() }
            if let signal = try server.run() {
                log.shutdown(signal)
                notifier.stopping(status: "Stopping (\(signalName(signal)))")
            }
        }
    }
}

extension ServeEcho {
    /// --udp: a datagram echo on the reactor until SIGINT, SIGTERM or SIGHUP; SIGUSR1 (and --stats-interval)
    /// prints the stats line (datagrams and bytes in and out, uptime). A service manager's
    /// NOTIFY_SOCKET and watchdog are served as the TCP servers serve them; a passed socket (socket
    /// activation hands over listening stream sockets) is refused rather than left unused.
    func serveDatagrams(log: EventLog) throws {
        let service = try ServiceEnvironment.take(log: log)
        if service.activation != nil {
            throw SocketActivationError.unusable(
                descriptor: SocketActivation.firstDescriptor,
                name: "LISTEN_FDS",
                problem: "serve echo --udp binds its own UDP socket and cannot serve a passed one"
            )
        }
        let reactor = try Reactor(kind: try Backend.fromEnvironment())
        let server = try DatagramEchoServer(address: try endpoint.address(log: log, for: .udp), log: log)
        defer { server.stop(on: reactor) }
        try server.start(on: reactor)
        var ending: CInt?
        try reactor.handleSignals(SignalNumber.draining + [SignalNumber.stats], requests: [SignalNumber.stats]) {
            signal in
            if signal == SignalNumber.stats {
                log.stats(server.statsReport())
                log.flush()
                return
            }
            ending = signal
            reactor.stop()
        }
        let notifier = ServiceNotifier(settings: service, log: log)
        let status = "Listening on \(server.address) (UDP)"
        notifier.startTimers(on: reactor, status: { status }, healthy: { true })
        notifier.ready(status: status)
        let statsTimer = stats.statsInterval.map { interval in
            reactor.scheduleRepeating(every: interval.asDuration) { _ in
                log.stats(server.statsReport())
                log.flush()
            }
        }
        defer { statsTimer?.cancel(in: reactor) }
        try reactor.run()
        if let ending {
            log.shutdown(ending)
            notifier.stopping(status: "Stopping (\(signalName(ending)))")
        }
    }
}
