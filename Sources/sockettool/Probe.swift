// Probe.swift -- `probe`: nc -z. Zero-I/O TCP checks of ports (or, with --unix, of one Unix socket, nc
// -zU), a line per port and a summary; exit 0 if any port is open, 1 if none.
import ArgumentParser
import SocketCore

struct Probe: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "nc -z: is anything listening? A handshake per port, no byte sent.",
        usage: """
            sockettool probe <host> <port[-port]> ... [<options>]
              sockettool probe --unix <path> [<options>]
            """,
        discussion: """
            Connects to each port (every address HOST resolves to, in turn), closes
            at once when the handshake completes, and prints one line per port, in
            the order given: open, refused (nothing listens), timed out (no answer:
            a firewall that drops, a full accept queue) or unreachable; then a
            summary on stderr. At most --concurrency checks are in flight at once.
            -q prints the open ports' lines alone (no summary); -v adds the
            addresses HOST resolved to and the time each check took.

            --unix PATH checks a Unix domain socket instead (nc -zU), one line
            and no summary: open (something accepts), refused (no such file, a
            socket file its server left, a file that is no socket) or failed
            (no permission, ...).

            Exit status: 0 if any port is open, 1 if none is (nc -z's convention),
            64 for a usage error, 68 if HOST does not resolve, 73 if --source
            cannot be bound (not an address of this machine): no port is checked.

            Examples:
              sockettool probe 127.0.0.1 65432
                  127.0.0.1:65432 open
              sockettool probe localhost 8000-8010 9000
                  eleven ports of a range and one more
              sockettool probe 127.0.0.1 1-1024 --connect-timeout 1 -q | grep open
                  only the open ports' lines
              sockettool probe -4 localhost 22 --source 127.0.0.2
                  IPv4 only, each check from 127.0.0.2 (bound before connect)
              sockettool probe --unix /run/app.sock
                  /run/app.sock open
            """
    )

    @Argument(help: ArgumentHelp("Host name or address (IPv4, IPv6).", valueName: "host"))
    var hostArgument: String?

    @Argument(help: ArgumentHelp("Ports to check: 80, or a range 8000-8010 (repeatable).", valueName: "port[-port]"))
    var ports: [String] = []

    @Option(
        name: .customLong("connect-timeout"),
        parsing: .unconditional,
        help: ArgumentHelp("Seconds to wait for each address's handshake. Default: 5.", valueName: "seconds")
    )
    var connectTimeoutOption: Seconds?

    @Option(
        name: .customLong("concurrency"),
        help: ArgumentHelp("Most checks in flight at once. Default: 64.", valueName: "n")
    )
    var concurrencyOption: Int?

    /// --connect-timeout, or its default.
    var connectTimeout: Seconds { connectTimeoutOption ?? 5 }
    /// --concurrency, or its default.
    var concurrency: Int { concurrencyOption ?? 64 }

    // DialFlags' flags, but --source without a port: the checks run at once and cannot share one.
    @OptionGroup var families: FamilyFlags

    @Option(
        help: ArgumentHelp(
            "Local address to check from, bound before each connect: ADDR or [IPv6] (the kernel picks the "
                + "port). Only server addresses of its family are tried.",
            valueName: "addr"
        )
    )
    var source: String?

    @Option(
        name: .customLong("unix"),
        help: ArgumentHelp(
            "Check the Unix domain socket at this path instead of HOST PORT (nc -zU).",
            valueName: "path"
        )
    )
    var unixPath: String?

    @OptionGroup var output: OutputOptions

    /// HOST, or with --unix the path: what the lines and the summary name.
    var host: String { unixPath ?? hostArgument ?? "" }

    func validate() throws {
        if let unixPath {
            try validateUnix(
                unixPath,
                hostOrPortGiven: hostArgument != nil || !ports.isEmpty,
                families: families,
                source: source
            )
            return
        }
        guard let host = hostArgument else {
            throw ValidationError("Give a HOST and at least one port ('probe 127.0.0.1 80'), or --unix PATH.")
        }
        try refuseHostWithPort(host)
        if let source, try DialFlags.splitSource(source).port != 0 {
            throw ValidationError(
                "--source \(source): give the address alone; the checks run at once and cannot share one port."
            )
        }
        if ports.isEmpty {
            throw ValidationError("Give at least one port or range, e.g. 'probe \(host) 80 8000-8010'.")
        }
        _ = try portList()
        if connectTimeout <= 0 { throw ValidationError("--connect-timeout must be more than 0 seconds.") }
        if concurrency < 1 { throw ValidationError("--concurrency must be at least 1.") }
    }

    /// Every port to check, in the order given; with --unix one entry, 0 (a Unix socket has no port).
    func portList() throws -> [UInt16] {
        if unixPath != nil { return [0] }
        return try ports.flatMap { try Self.parseRange($0) }
    }

    /// "80" or "8000-8010" (ends included, low first).
    static func parseRange(_ text: String) throws -> [UInt16] {
        let ends = text.split(separator: "-", omittingEmptySubsequences: false).map(String.init)
        guard ends.count <= 2 else { throw ValidationError("'\(text)' is not a port or a range such as 8000-8010.") }
        let low = try parseServerPort(ends[0])
        let high = ends.count == 2 ? try parseServerPort(ends[1]) : low
        guard low <= high else {
            throw ValidationError("The range '\(text)' ends below its start: write \(high)-\(low).")
        }
        return Array(low...high)
    }

    func run() throws {
        let log = output.makeLog()
        var anyOpen = false
        let server = unixPath.map { "sockettool listen --unix \($0)" } ?? "sockettool listen \(shellWord(host)) PORT"
        try reportingFailures(log, server: server, results: log.output) {
            let ports = try portList()
            // Resolved once (and --source checked against the result once): each port is a copy.
            let first = try target(port: ports[0])
            // A source this machine cannot bind fails every check alike: one error (exit 73), not a line per port.
            if let source = first.source { try Self.tryBinding(source) }
            let targets = ports.map { port in
                DialTarget(
                    addresses: first.addresses.map { address in
                        var address = address
                        address.port = port
                        return address
                    },
                    source: first.source
                )
            }
            if log.format == .text, log.verbosity >= .verbose, unixPath == nil {
                let addresses = first.addresses.map(\.host)
                log.diagnostics.writeLine(
                    "Checking \(ports.count) port\(ports.count == 1 ? "" : "s") on \(host) "
                        + "(\(addresses.joined(separator: ", "))), at most \(concurrency) at once"
                )
            }
            DescriptorLimit.raiseToHardLimit()
            let options = ClientOptions(connectTimeout: connectTimeout.asDuration, timeout: nil)
            let probe = PortProbe(
                reactor: try Reactor(kind: try Backend.fromEnvironment()),
                options: options,
                concurrency: concurrency
            )
            var tally = ProbeTally(host: host, isUnix: unixPath != nil)
            // Checks end in any order; lines come in the order the ports were given.
            var results: [PortResult?] = Array(repeating: nil, count: targets.count)
            var printed = 0
            try probe.run(targets) { index, result in
                results[index] = result
                while printed < results.count, let ready = results[printed] {
                    printResult(ready, log: log)
                    tally.count(ready)
                    printed += 1
                }
                log.flush()
            }
            tally.print(log: log)
            anyOpen = tally.counts[.open, default: 0] > 0
        }
        if !anyOpen { throw ExitCode(ExitStatus.failure) }
    }

    /// Every address HOST resolves to (in -4/-6's family), and --source resolved to one of their family;
    /// with --unix the path's address.
    private func target(port: UInt16) throws -> DialTarget {
        if let unixPath { return DialTarget(try unixAddress(unixPath)) }
        return try DialFlags.target(
            host: host,
            port: port,
            source: source,
            family: families.family,
            anySourcePort: true
        )
    }

    /// Why a Unix socket refused, in words: a refused TCP port says it all, a Unix path has two causes.
    private static func unixRefusal(_ result: PortResult) -> String? {
        guard result.address.isUnix else { return nil }
        if result.failure?.systemError?.errno == .noSuchFile { return "no such file" }
        return "nothing accepts (a socket file its server left, or a file that is no socket)"
    }

    /// Binds a throwaway socket to `source`: EADDRNOTAVAIL and the like surface here, before any check.
    private static func tryBinding(_ source: SocketAddress) throws(SystemError) {
        let socket = try Socket(family: source.family)
        defer { socket.close() }
        try socket.bind(to: source)
    }

    private func printResult(_ result: PortResult, log: EventLog) {
        var text = "\(result.address) \(result.state.name)"
        switch result.state {
        case .open: break
        case .refused: if let why = Self.unixRefusal(result) { text += ": \(why)" }
        case .timedOut: text += " after \(NumberFormat.duration(nanoseconds: connectTimeout.asDuration.nanoseconds))"
        case .unreachable, .failed: text += ": \(result.failure?.message ?? "?")"
        }
        if log.verbosity >= .verbose { text += " (\(NumberFormat.duration(nanoseconds: result.nanoseconds)))" }
        let place: [(String, JSONValue)] =
            unixPath.map { [("path", .string($0))] }
            ?? [("host", .string(host)), ("port", .int(result.port)), ("address", .string(result.address.description))]
        var fields =
            place + [("state", .string(result.state.key)), ("ms", .double(Double(result.nanoseconds) / 1e6))]
        if let failure = result.failure, result.state != .open { fields.append(("message", .string(failure.message))) }
        // -q: the open ports alone, as `probe ... -q | grep open` promises (JSON keeps every port).
        let level: Verbosity = result.state == .open || log.format == .json ? .quiet : .normal
        log.event("port", level: level, text: text, fields: fields)
    }
}

/// How many ports ended in each state, and the summary line.
private struct ProbeTally {
    let host: String
    /// One socket at a path: its line says it all, so the text summary is left out.
    let isUnix: Bool
    var counts: [PortState: Int] = [:]
    var total = 0

    mutating func count(_ result: PortResult) {
        counts[result.state, default: 0] += 1
        total += 1
    }

    func print(log: EventLog) {
        let parts = PortState.allCases.compactMap { state in counts[state].map { "\($0) \(state.name)" } }
        let text = "\(total) port\(total == 1 ? "" : "s") on \(host): \(parts.joined(separator: ", "))"
        switch log.format {
        case .json:
            var fields: [(String, JSONValue)] =
                isUnix ? [("path", .string(host))] : [("host", .string(host)), ("ports", .int(total))]
            for state in PortState.allCases { fields.append((state.key, .int(counts[state, default: 0]))) }
            log.event("summary", level: .quiet, text: text, fields: fields)
        case .text:
            if log.verbosity >= .normal, !isUnix { log.diagnostics.writeLine(text) }
        }
    }
}
