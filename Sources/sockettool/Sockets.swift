// Sockets.swift -- `sockets`: the guide's "Viewing Socket State" (netstat -an, lsof -i -n) as one table.
import ArgumentParser
import SocketCore

struct Sockets: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "List sockets: netstat's columns joined with lsof's, read from the kernel's own tables.",
        discussion: """
            The guide's "Viewing Socket State" runs two tools: netstat -an for the
            sockets (Proto, Recv-Q, Send-Q, Local Address, Foreign Address, State)
            and lsof -i -n for who holds them (COMMAND, PID, USER, FD). This is one
            table of both, for TCP, UDP and Unix sockets, IPv4 and IPv6, read from
            the kernel's socket tables through netlink sock_diag (what ss uses) and
            from /proc/PID/fd. The numbers are the ones ss -tan and lsof -i -n show.

            Recv-Q is what arrived and was not read yet; Send-Q what was sent and
            not yet acknowledged. On a LISTEN line, Recv-Q is the accept queue
            (connections completed by the kernel, waiting for accept()) and Send-Q
            the backlog. TIME_WAIT sockets belong to no process any more. Without
            root, other users' processes are not named (lsof cannot either).

            Examples:
              sockettool sockets --port 65432          one server and its clients
              sockettool sockets --listening --tcp     every TCP server (ss -tln)
              sockettool sockets --pid 4711            one process's sockets (lsof -p)
              sockettool sockets --state time-wait     who closed first, for a minute
              sockettool sockets -v --port 65432       with rtt, cwnd, retransmits (ss -ti)
              sockettool sockets --watch 1 --port 65432
                                                       redraw every second (Ctrl-C ends, exit 0)
              sockettool sockets --json --tcp          one JSON object per socket
            """
    )

    @Option(help: "Only sockets whose local or foreign port is this one.")
    var port: UInt16?

    @Option(help: "Only sockets held by this process ID.")
    var pid: Int32?

    @Flag(name: [.customShort("l"), .long], help: "Only listening sockets (and unconnected UDP sockets), as ss -l.")
    var listening = false

    @Option(
        help: ArgumentHelp(
            "Only sockets in this state: established, listening, time-wait, close-wait, syn-sent, fin-wait-1, ... (ss's names or the table's, FIN_WAIT1; repeat or separate with commas).",
            valueName: "state"
        )
    )
    var state: [String] = []

    @Flag(name: [.customShort("t"), .long], help: "TCP sockets (with -u and -x: any of them; none of the three: all).")
    var tcp = false

    @Flag(name: [.customShort("u"), .long], help: "UDP sockets.")
    var udp = false

    @Flag(name: [.customShort("x"), .long], help: "Unix domain sockets.")
    var unix = false

    @Flag(name: .customShort("4"), help: "Only IPv4 (no Unix sockets unless -x).")
    var ipv4 = false

    @Flag(name: .customShort("6"), help: "Only IPv6 (no Unix sockets unless -x).")
    var ipv6 = false

    @Option(
        help: ArgumentHelp(
            "Redraw every this many seconds (a terminal), or print a snapshot each time (a pipe), until Ctrl-C.",
            valueName: "seconds"
        )
    )
    var watch: Seconds?

    @OptionGroup var output: OutputOptions

    func validate() throws {
        if ipv4 && ipv6 { throw ValidationError("Choose one of -4 and -6 (neither lists both).") }
        if let watch, watch.value < 0.1 { throw ValidationError("--watch needs at least 0.1 seconds.") }
        _ = try states()
    }

    func run() throws {
        let log = output.makeLog()
        try reportingFailures(log) {
            let query = try self.query()
            guard let watch else {
                try show(try SocketInventory.collect(query), snapshot: nil, log: log)
                return
            }
            let signals = SignalPipe.shared
            signals.install(SignalNumber.stopping)
            defer { signals.uninstall(SignalNumber.stopping) }
            let redraw = log.format == .text && log.output.canRedraw
            var snapshot = 1
            while true {
                let found = try SocketInventory.collect(query)
                if redraw {
                    log.output.write("\u{1B}[H\u{1B}[2J")
                    log.output.writeLine("Every \(NumberFormat.fixed(watch.value, decimals: 1)) s · Ctrl-C to stop")
                } else if log.format == .text {
                    if snapshot > 1 { log.output.writeLine("") }
                    log.output.writeLine(
                        "Snapshot \(snapshot), every \(NumberFormat.fixed(watch.value, decimals: 1)) s"
                    )
                }
                try show(found, snapshot: snapshot, log: log)
                log.flush()
                // Ctrl-C is how a watch ends, as it is how a server or a capture ends: exit 0.
                if try signals.wait(timeout: watch.asDuration) != nil { return }
                snapshot += 1
            }
        }
    }

    /// The table (or one JSON line per socket), then what the reader needs to know about it.
    private func show(_ found: SocketInventory.Snapshot, snapshot: Int?, log: EventLog) throws {
        for (table, error) in found.unavailable {
            log.warning("the kernel did not list its \(table) sockets: \(error)")
        }
        if log.format == .json {
            for row in found.rows {
                var fields = row.fields
                if let snapshot { fields.append(("snapshot", .int(snapshot))) }
                log.event("socket", level: .quiet, text: "", fields: fields)
            }
            return
        }
        for line in SocketTable.lines(found.rows, verbose: log.verbosity == .verbose) { log.output.writeLine(line) }
        if log.wants(.normal) && found.rows.contains(where: { $0.socket.stateName == "LISTEN" }) {
            log.output.writeLine(SocketTable.listenerNote)
        }
    }

    /// The flags as a query.
    func query() throws -> SocketQuery {
        var query = SocketQuery()
        var tables: [SockDiag.Table] = []
        let all = !tcp && !udp && !unix
        if tcp || all {
            if !ipv6 { tables.append(.tcp4) }
            if !ipv4 { tables.append(.tcp6) }
        }
        if udp || all {
            if !ipv6 { tables.append(.udp4) }
            if !ipv4 { tables.append(.udp6) }
        }
        if unix || (all && !ipv4 && !ipv6) { tables.append(.unix) }
        query.tables = tables
        query.port = port
        query.pid = pid
        query.listeningOnly = listening
        query.states = try states()
        query.tcpInfo = output.verbose || output.json
        return query
    }

    private func states() throws -> Set<UInt8>? {
        let names = state.flatMap { $0.split(separator: ",") }.map { String($0) }
        guard !names.isEmpty else { return nil }
        var numbers = Set<UInt8>()
        for name in names {
            guard let number = SocketState.number(named: name) else {
                throw ValidationError(
                    "'\(name)' is not a socket state: use established, syn-sent, syn-recv, fin-wait-1, fin-wait-2, "
                        + "time-wait, closed, close-wait, last-ack, listening, closing or unconn."
                )
            }
            numbers.insert(number)
        }
        return numbers
    }
}
