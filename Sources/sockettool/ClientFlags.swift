// ClientFlags.swift -- the timeouts every client shares.
import ArgumentParser
import SocketCore

/// --connect-timeout, --timeout.
struct ClientFlags: ParsableArguments {
    @Option(
        parsing: .unconditional,
        help: ArgumentHelp("Seconds to wait for the TCP handshake. Default: 5.", valueName: "seconds")
    )
    var connectTimeout: Seconds?

    /// --connect-timeout, or its default.
    var connectSeconds: Seconds { connectTimeout ?? 5 }

    @Option(
        parsing: .unconditional,
        help: ArgumentHelp(
            "Seconds to wait for the server's reply (for each read, or for a whole response); 0 never. "
                + "Default: 10 (connect -m -: none, the relay waits until both sides close).",
            valueName: "seconds"
        )
    )
    var timeout: Seconds?

    /// --timeout when not given, outside relays.
    static let defaultTimeout: Seconds = 10

    func validate() throws {
        if let connectTimeout, connectTimeout <= 0 {
            throw ValidationError("--connect-timeout must be more than 0 seconds.")
        }
    }

    var options: ClientOptions {
        let timeout = timeout ?? Self.defaultTimeout
        return ClientOptions(connectTimeout: connectSeconds.asDuration, timeout: timeout > 0 ? timeout.asDuration : nil)
    }

    /// A relay's idle timeout: none unless --timeout was given, and none for 0.
    var relayIdleTimeout: Duration? {
        guard let timeout, timeout > 0 else { return nil }
        return timeout.asDuration
    }
}

/// Prints a client's closing summary: stderr in text mode (stdout carries the data), an event in JSON mode.
func printSummary(_ summary: TransferSummary, log: EventLog) {
    switch log.format {
    case .json: log.event("summary", level: .quiet, text: summary.text, fields: summary.fields)
    case .text: if log.verbosity >= .normal { log.diagnostics.writeLine(summary.text) }
    }
}
