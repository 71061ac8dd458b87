// DatagramRelay.swift -- the UDP relay of `connect --udp -m -` and `listen --udp` (nc -u, nc -u -l):
// each read of stdin one datagram, each datagram received one chunk on stdout, on the reactor. UDP has
// no FIN, so stdin's end only stops sending: like nc -u, the session goes on receiving until --timeout
// seconds pass with no datagram either way (nc -w), or until Ctrl-C (SIGINT, SIGTERM, SIGHUP), which
// ends it cleanly with its summary and exit 0.
import ArgumentParser
import Glibc
import SocketCore

/// One UDP relay session with its signals.
struct DatagramRelaySession {
    let options: RelayOptions
    let log: EventLog
    let reactor: Reactor
    /// The signal that ended the session, if one did.
    private let ending = SignalBox()

    init(options: RelayOptions, log: EventLog) throws {
        self.options = options
        self.log = log
        reactor = try Reactor(kind: try Backend.fromEnvironment())
        let (reactor, ending) = (reactor, ending)
        try reactor.handleSignals(SignalNumber.draining) { signal in
            ending.signal = signal
            reactor.stop()
        }
    }

    /// `connect --udp HOST PORT -m -`: a socket connected to the first address (of --source's family),
    /// bound to --source first.
    func connect(to target: DialTarget) throws -> TransferSummary {
        let peer =
            target.source.flatMap { source in target.addresses.first { $0.family == source.family } }
            ?? target.first
        let socket = try DatagramSocket(family: peer.family)
        do {
            if let source = target.source { try socket.bind(to: source) }
            try socket.connect(to: peer)
        } catch {
            socket.close()
            throw error
        }
        log.event(
            "connected",
            level: .verbose,
            text: "Sending datagrams to \(peer) from \((try? socket.localAddress())?.description ?? "?") (UDP: no "
                + "handshake, so nothing is known of the peer until it answers)",
            fields: [("peer", .string(peer.description))]
        )
        return try relay(DatagramLink(socket: socket, destination: nil), peer: peer.description)
    }

    /// `listen --udp`: waits on the bound `socket` for the first datagram; its sender is the peer. Without
    /// `followsSender` the socket is connected to it, as nc -u -l does (nobody else is heard); with it
    /// (-k), datagrams from anyone go to stdout and stdin goes to whoever sent last.
    ///
    /// - Returns: nil when a signal came before any datagram.
    func listen(on socket: DatagramSocket, followsSender: Bool) throws -> TransferSummary? {
        let arrival = FirstDatagram(socket: socket)
        do {
            try reactor.register(descriptor: socket.descriptor, interest: .readable, handler: arrival)
            try reactor.run()
            reactor.deregister(descriptor: socket.descriptor)
            if let failure = arrival.failure { throw failure }
            guard let sender = arrival.sender else {
                socket.close()
                if let signal = ending.signal { log.shutdown(signal) }
                return nil
            }
            // The datagram stays queued (MSG_PEEK): the relay reads it first.
            if !followsSender { try socket.connect(to: sender) }
            log.relayDatagramPeer(sender.description, followsSender: followsSender)
            let link = DatagramLink(
                socket: socket,
                destination: followsSender ? sender : nil,
                followsSender: followsSender
            )
            return try relay(link, peer: sender.description, side: .server)
        } catch {
            socket.close()
            throw error
        }
    }

    private func relay(_ link: DatagramLink, peer: String, side: ConnectionSide = .client) throws -> TransferSummary {
        let relay = Relay(
            connection: .datagram(link),
            peer: peer,
            input: .standardInput,
            output: .standardOutput,
            options: options,
            log: log
        )
        relay.side = side
        let summary = try relay.run(on: reactor)
        if let signal = ending.signal { log.shutdown(signal) }
        return summary
    }
}

/// The signal a handler saw (the reactor's action escapes, so it cannot write a local).
private final class SignalBox {
    var signal: CInt?
}

/// Waits for `listen --udp`'s first datagram, and leaves it queued.
private final class FirstDatagram: SocketHandler {
    let socket: DatagramSocket
    var sender: SocketAddress?
    var failure: SystemError?

    init(socket: DatagramSocket) { self.socket = socket }

    func readable(in reactor: Reactor) {
        do {
            guard let sender = try socket.peekSender() else { return }
            self.sender = sender
        } catch {
            failure = error
        }
        reactor.stop()
    }

    func writable(in reactor: Reactor) {}
}
