// FloodServe.swift -- `flood serve`: the guide's app-server-test.py. Accept, never read, show the Recv-Q.
import ArgumentParser
import Glibc
import SocketCore

struct FloodServe: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "serve",
        abstract: "Accept connections and never read them; show each one's Recv-Q as it fills (app-server-test.py).",
        discussion: """
            The receiver of the experiment, for a sender in another terminal or on
            another machine ('sockettool flood HOST PORT', or any program that
            writes). Each connection's Recv-Q is printed as it grows, as netstat
            would show it; --drain makes it read slowly instead. SIGINT, SIGTERM or
            SIGHUP prints the table of open connections and exits 0; SIGUSR1 prints
            a stats line.

            Example:
              sockettool flood serve 127.0.0.1 65432
              sockettool flood 127.0.0.1 65432        (in another terminal)
            """
    )

    @OptionGroup var endpoint: ServerEndpoint

    @Option(
        help: ArgumentHelp(
            "SO_RCVBUF to ask for before listen(), e.g. 4096 or 64k; accepted connections inherit it. "
                + "The kernel doubles it and caps it at net.core.rmem_max.",
            valueName: "bytes"
        )
    )
    var rcvbuf: ByteCount?

    @Option(
        help: ArgumentHelp(
            "Read each connection at this many bytes per second (e.g. 64k) instead of never.",
            valueName: "rate"
        )
    )
    var drain: ByteRate?

    @Option(
        parsing: .unconditional,
        help: ArgumentHelp("Stop after this many seconds. Default: run until Ctrl-C.", valueName: "seconds")
    )
    var duration: Seconds?

    @Option(
        name: .customLong("max-conns"),
        help: ArgumentHelp("Connections held at once; more wait in the listen queue.", valueName: "n")
    )
    var maxConnections: Int = 64

    @Option(
        parsing: .unconditional,
        help: ArgumentHelp(
            "Close a connection after this many seconds in which no byte arrived or was read; 0 never. (A "
                + "sender that closes while its bytes wait unread never gets its FIN through.)",
            valueName: "seconds"
        )
    )
    var idleTimeout: Seconds = 300

    @OptionGroup var stats: StatsFlags

    @OptionGroup var output: OutputOptions

    func validate() throws {
        if endpoint.unixPath != nil {
            throw ValidationError("flood watches TCP's queues (Send-Q, Recv-Q, the window): --unix does not apply.")
        }
        _ = try endpoint.resolved()
        if maxConnections < 1 { throw ValidationError("--max-conns must be at least 1.") }
        try validateByteCount(rcvbuf, "--rcvbuf")
        try validateByteCount(drain, "--drain", maximum: 1 << 40)
        try validateSeconds(duration, "--duration")
        if idleTimeout < 0 { throw ValidationError("--idle-timeout must not be negative.") }
    }

    func run() throws {
        let log = output.makeLog()
        try reportingFailures(log) {
            let reactor = try Reactor(kind: try Backend.fromEnvironment())
            let display = FloodDisplay.automatic(log: log)
            let service = try ServiceEnvironment.take(log: log)
            let listener = try ServiceEnvironment.listener(
                service,
                families: [AddressFamily.ipv4, AddressFamily.ipv6],
                endpointGiven: endpoint.isGiven,
                log: log
            )
            let server = try FloodServer(
                reactor: reactor,
                address: try listener?.localAddress() ?? endpoint.address(log: log),
                options: FloodServeOptions(
                    receiveBufferSize: rcvbuf?.bytes,
                    drainRate: drain?.bytes,
                    duration: duration?.asDuration,
                    maxConnections: maxConnections,
                    idleTimeout: idleTimeout > 0 ? idleTimeout.asDuration : nil
                ),
                display: display,
                listeningSocket: listener
            )
            try runUntilSignalled(server, log: log, service: service, statsInterval: stats.statsInterval)
        }
    }
}
