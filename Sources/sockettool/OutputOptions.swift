// OutputOptions.swift -- the flags every command shares for what it prints and how.
import ArgumentParser
import Glibc
import SocketCore

/// --json, -q, -v, --color.
struct OutputOptions: ParsableArguments {
    // Relays (listen, connect -m -, --udp relays) keep stdout for the peer's bytes: their events go to stderr.
    @Flag(
        help: ArgumentHelp(
            "Print one JSON object per event per line (NDJSON) on stdout; in a relay (listen, connect -m -) "
                + "on stderr, since stdout carries the data. Messages for people go to stderr."
        )
    )
    var json = false

    @Flag(name: .shortAndLong, help: "Print only results, errors and the listening address.")
    var quiet = false

    @Flag(name: .shortAndLong, help: "Print more detail about each event.")
    var verbose = false

    @Option(help: "Colour labels on stderr: auto (only on a terminal, not with NO_COLOR or TERM=dumb), always, never.")
    var color: TerminalStyle.Choice = .auto

    func validate() throws {
        if quiet && verbose { throw ValidationError("Choose one of --quiet and --verbose.") }
    }

    /// The event log these flags describe. Servers flush it once per loop turn; clients after each line.
    func makeLog(flushPerLine: Bool = true) -> EventLog {
        let policy: OutputBuffer.FlushPolicy = json || flushPerLine ? .eachLine : .manual
        return EventLog(
            format: json ? .json : .text,
            verbosity: quiet ? .quiet : verbose ? .verbose : .normal,
            output: OutputBuffer(descriptor: STDOUT_FILENO, policy: policy),
            diagnostics: OutputBuffer(descriptor: STDERR_FILENO, policy: .eachLine),
            style: TerminalStyle(choice: color, descriptor: STDERR_FILENO)
        )
    }
}

extension TerminalStyle.Choice: ExpressibleByArgument {}
extension SelectorKind: ExpressibleByArgument {}
