// ServeMulti.swift -- `serve multi`: the guide's multiconn-server.py on the event loop.
import ArgumentParser
import SocketCore

struct ServeMulti: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "multi",
        abstract: "multiconn-server.py: an echo server for many clients on one poll() loop.",
        discussion: """
            Every byte a client sends comes back to it. What the kernel does not
            take at once is queued, and that client is not read again until its
            echo is sent (backpressure: its bytes wait in the kernel, and TCP
            holds it back), so memory stays bounded. The guide's version dies
            when a client resets and spins on write interest; this one does
            neither.

            Example:
              sockettool serve multi 127.0.0.1 65432
              sockettool connect 127.0.0.1 65432 --conns 2   (in another terminal)
            """
    )

    @OptionGroup var endpoint: ServerEndpoint
    @OptionGroup var server: ServerFlags
    @OptionGroup var workers: WorkersFlag

    @Option(
        help: ArgumentHelp(
            "Most bytes read from a connection at once, so the most unsent echo it can hold.",
            valueName: "bytes"
        )
    )
    var maxPending = ByteCount(bytes: 1 << 20)

    @Option(
        parsing: .unconditional,
        help: ArgumentHelp(
            "Close a connection after this many seconds without traffic; 0 never.",
            valueName: "seconds"
        )
    )
    var idleTimeout: Seconds = 300

    @OptionGroup var output: OutputOptions

    func validate() throws {
        // A TCP server: a service name /etc/services lists for UDP only is a usage error here, not at run.
        _ = try endpoint.resolved()
        try server.reuse.refuse(withUnix: endpoint.unixPath)
        if maxPending.bytes < 1 { throw ValidationError("--max-pending must be at least 1 byte.") }
        if idleTimeout < 0 { throw ValidationError("--idle-timeout must not be negative.") }
    }

    func run() throws {
        let log = output.makeLog(flushPerLine: false)
        try reportingFailures(log) {
            let reactor = try Reactor(kind: try server.selectedBackend())
            let echo = EchoOptions(
                maxPendingBytes: maxPending.bytes,
                idleTimeout: idleTimeout > 0 ? idleTimeout.asDuration : nil
            )
            let service = try ServiceEnvironment.take(log: log)
            let listener = try ServiceEnvironment.listener(service, endpointGiven: endpoint.isGiven, log: log)
            let options = server.options(
                address: try listener?.localAddress() ?? endpoint.address(log: log),
                loops: workers.workers
            )
            let sharing = workers.workers > 1 ? try ServerSharing(maxConnections: options.maxConnections) : nil
            // One recipe for every loop: the first binds (or takes the passed socket), the others get a copy.
            let makeServer = { @Sendable (reactor: Reactor, log: EventLog, socket: Socket?) throws in
                try ConnectionServer.multi(
                    reactor: reactor,
                    options: options,
                    echo: echo,
                    log: log,
                    listeningSocket: socket,
                    sharing: sharing
                )
            }
            try runServer(
                try makeServer(reactor, log, listener),
                workers: workers,
                log: log,
                service: service,
                statsInterval: server.stats.statsInterval
            ) { try makeServer($0, $1, $2) }
        }
    }
}
