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
