// EventLog+Relay.swift -- the relay's own lines. A relay's stdout is the peer's bytes, so its log
// writes to stderr (see `Relay`).

extension EventLog {
    /// "stdin ended after 1,024 bytes: sent FIN to 127.0.0.1:65432, reading until it closes" (verbose).
    func relayInputEnded(bytes: Int, peer: String, shutdown: Bool) {
        guard wants(.verbose) else { return }
        let after = "stdin ended after \(NumberFormat.grouped(bytes)) byte\(bytes == 1 ? "" : "s")"
        event(
            "input_ended",
            level: .verbose,
            text: shutdown
                ? "\(after): sent FIN to \(peer) (shutdown SHUT_WR), reading until it closes"
                : "\(after): the write side stays open (--no-shutdown), reading until \(peer) closes",
            fields: [("bytes", .int(bytes)), ("peer", .string(peer)), ("shutdown", .bool(shutdown))]
        )
    }

    /// "127.0.0.1:65432 closed its side (FIN) after 2,048 bytes" (verbose); when a person is typing into
    /// stdin, at normal verbosity and with what to do, so nobody sits in CLOSE_WAIT wondering.
    func relayPeerClosed(bytes: Int, peer: String, inputOpen: Bool, inputIsTerminal: Bool) {
        let prompt = inputOpen && inputIsTerminal
        let level: Verbosity = prompt ? .normal : .verbose
        guard wants(level) else { return }
        var text = "\(peer) closed its side (FIN) after \(NumberFormat.grouped(bytes)) byte\(bytes == 1 ? "" : "s")"
        if prompt { text += "; what you type is still sent to it: end with Ctrl-D" }
        event(
            "peer_closed",
            level: level,
            text: text,
            fields: [("bytes", .int(bytes)), ("peer", .string(peer)), ("input_open", .bool(inputOpen))]
        )
    }
}

extension EventLog {
    /// `listen`'s "Listening on 127.0.0.1:65432" (the servers' line and JSON event).
    public func relayListening(on address: SocketAddress) {
        listening(on: address)
    }

    /// `listen`'s "Accepted connection from 127.0.0.1:54490".
    public func relayAccepted(_ peer: String) {
        accepted(peer)
    }

    /// `listen`'s "Closing connection to 127.0.0.1:54490".
    public func relayClosing(_ peer: String) {
        closing(peer)
    }
}

extension EventLog {
    /// UDP: "stdin ended after 12 bytes: UDP has no FIN; still receiving from 127.0.0.1:5000 until 2.0 s
    /// pass quietly (--timeout)" (verbose; at normal verbosity when a person typed Ctrl-D and only Ctrl-C
    /// ends it now).
    func relayDatagramInputEnded(
        bytes: Int,
        peer: String,
        receiving: Bool,
        quietSeconds: Double?,
        inputIsTerminal: Bool
    ) {
        let level: Verbosity = receiving && quietSeconds == nil && inputIsTerminal ? .normal : .verbose
        guard wants(level) else { return }
        var text = "stdin ended after \(NumberFormat.grouped(bytes)) byte\(bytes == 1 ? "" : "s")"
        if !receiving {
            text += ": nothing more to send (--send-only)"
        } else if let quietSeconds {
            text +=
                ": UDP has no FIN; still receiving from \(peer) until \(NumberFormat.fixed(quietSeconds, decimals: 1)) s "
                + "pass without a datagram (--timeout)"
        } else {
            text += ": UDP has no FIN; still receiving from \(peer): end with Ctrl-C (or give --timeout)"
        }
        event(
            "input_ended",
            level: level,
            text: text,
            fields: [("bytes", .int(bytes)), ("peer", .string(peer)), ("shutdown", .bool(false))]
        )
    }

    /// UDP: "nothing from or to 127.0.0.1:5000 for 2.0 s (--timeout): the UDP session ends" (verbose).
    func relayQuiet(seconds: Double, peer: String) {
        guard wants(.verbose) else { return }
        event(
            "quiet",
            level: .verbose,
            text: "no datagram from or to \(peer) for \(NumberFormat.fixed(seconds, decimals: 1)) s (--timeout): "
                + "the UDP session ends",
            fields: [("seconds", .double(seconds)), ("peer", .string(peer))]
        )
    }

    /// `listen --udp`: "Datagram from 127.0.0.1:54490: relaying with it" (the UDP `accepted`).
    public func relayDatagramPeer(_ peer: String, followsSender: Bool) {
        event(
            "peer",
            text: followsSender
                ? "Datagram from \(peer): receiving from anyone (-k), stdin goes to the latest sender"
                : "Datagram from \(peer): relaying with it (connected: others are not heard)",
            fields: [("peer", .string(peer)), ("follows_sender", .bool(followsSender))]
        )
    }
}
