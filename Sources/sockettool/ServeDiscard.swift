// ServeDiscard.swift -- `serve discard`: RFC 863's discard service, the receiving end of a one-way
// throughput run.
import ArgumentParser
import SocketCore

struct ServeDiscard: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "discard",
        abstract: "RFC 863 discard: read every byte a client sends, keep none, count them.",
        discussion: """
            Each connection is read to its end and the bytes are dropped; when the
            client closes, the server prints what it received and how fast (the
            receiver's side of a throughput run), then closes too. Nothing is ever
            sent back. The RFC's port is 9 (root only); the default is the guide's
            65432.

            On TCP the kernel drops the bytes itself (recv with MSG_TRUNC, see
            tcp(7)): they are counted but never copied out, which saves the
            receiver a copy of every byte. --copy reads each byte into the
            server's memory instead, as a program's recv() does (and iperf3 -s):
            a receiver as costly as an application's.

            Examples:
              sockettool serve discard 127.0.0.1 5201
              head -c 1G /dev/zero | nc -N 127.0.0.1 5201   (in another terminal)
            """
    )

    @OptionGroup var endpoint: ServerEndpoint
    @OptionGroup var server: ServerFlags

    @Option(
        parsing: .unconditional,
        help: ArgumentHelp(
            "Close a connection after this many seconds without traffic; 0 never.",
            valueName: "seconds"
        )
    )
    var idleTimeout: Seconds = 300

    @Flag(help: "Copy every byte out of the kernel, as a program's recv() does, instead of dropping it there.")
    var copy = false

    @OptionGroup var output: OutputOptions

    func validate() throws {
        // A TCP server: a service name /etc/services lists for UDP only is a usage error here, not at run.
        _ = try endpoint.resolved()
        try server.reuse.refuse(withUnix: endpoint.unixPath)
        if idleTimeout < 0 { throw ValidationError("--idle-timeout must not be negative.") }
    }

    func run() throws {
        let log = output.makeLog(flushPerLine: false)
        try reportingFailures(log) {
            let reactor = try Reactor(kind: try server.selectedBackend())
            let service = try ServiceEnvironment.take(log: log)
            let listener = try ServiceEnvironment.listener(service, endpointGiven: endpoint.isGiven, log: log)
            let discard = try ConnectionServer.discard(
                reactor: reactor,
                options: server.options(address: try listener?.localAddress() ?? endpoint.address(log: log)),
                discard: DiscardOptions(idleTimeout: idleTimeout > 0 ? idleTimeout.asDuration : nil, copy: copy),
                log: log,
                listeningSocket: listener
            )
            try runUntilSignalled(discard, log: log, service: service, statsInterval: server.stats.statsInterval)
        }
    }
}
