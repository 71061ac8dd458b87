// RelayFlags.swift -- the options of the relay modes (`connect -m -`, `listen`), and -x.
import ArgumentParser
import SocketCore

/// --no-shutdown, --send-only, --recv-only.
struct RelayFlags: ParsableArguments {
    @Flag(help: "Relay: when stdin ends, keep the write side open instead of sending FIN (shutdown(SHUT_WR)).")
    var noShutdown = false

    @Flag(help: "Relay: send stdin only; what the peer sends is read and dropped. Ends when both sides have closed.")
    var sendOnly = false

    @Flag(help: "Relay: copy the peer to stdout only; stdin is not read. Ends when the peer closes.")
    var recvOnly = false

    func validate() throws {
        if sendOnly && recvOnly { throw ValidationError("Choose one of --send-only and --recv-only.") }
    }

    /// True when any of these flags was given (they apply to relay modes only).
    var isAnySet: Bool { noShutdown || sendOnly || recvOnly }

    /// The relay's settings; `idleTimeout` nil means none.
    func options(idleTimeout: Duration?) -> RelayOptions {
        RelayOptions(
            direction: sendOnly ? .sendOnly : recvOnly ? .receiveOnly : .both,
            shutdownWhenInputEnds: !noShutdown,
            idleTimeout: idleTimeout
        )
    }
}

/// -x / --hexdump.
struct HexDumpFlag: ParsableArguments {
    @Flag(
        name: [.customShort("x"), .customLong("hexdump")],
        help: "Dump every chunk sent (>) and received (<) on stderr: offset, hex and ASCII, as hexdump -C."
    )
    var hexdump = false
}

extension OutputOptions {
    /// The event log of a relay: stdout carries the peer's bytes, so every line (with --json, every
    /// event) goes to stderr.
    func makeRelayLog() -> EventLog {
        let stderr = OutputBuffer(descriptor: StandardStreams.error, policy: .eachLine)
        return EventLog(
            format: json ? .json : .text,
            verbosity: quiet ? .quiet : verbose ? .verbose : .normal,
            output: stderr,
            // In JSON mode the "error" event says it all; the text line would be a second copy.
            diagnostics: json ? OutputBuffer(capture: { _ in }) : stderr,
            style: TerminalStyle(choice: color, descriptor: StandardStreams.error)
        )
    }
}
