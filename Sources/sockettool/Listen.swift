// Listen.swift -- `listen`: nc -l. Accept a connection and relay it: the peer's bytes to stdout,
// stdin to the peer, with the relay's end-of-stream rules.
import ArgumentParser
import SocketCore

struct Listen: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "nc -l: accept one connection, its bytes to stdout and stdin to it.",
        discussion: """
            Listens (on 127.0.0.1 unless given a host), accepts one connection and
            relays it: what the peer sends goes to stdout, stdin goes to the peer.
            When stdin ends, the peer gets FIN (TCP's half-close) and its bytes are
            still copied until it closes; when the peer closes first, stdin is
            still sent to its end. No byte is dropped either way, and a transfer
            cut short never exits 0. The listening socket is closed once a
            connection is accepted; -k keeps it and takes the next connection
            when one ends (they wait in the listen queue meanwhile).

            With --udp (nc -u -l) it binds a UDP socket and waits for a datagram,
            as long as it takes; its sender becomes the peer (the socket is
            connected to it, so nobody else is heard). Each datagram goes to
            stdout as it came, and each read of stdin (a line from a terminal, at
            most 65,507 bytes) is sent as one datagram. UDP has no FIN: stdin's
            end only stops sending, and the session ends when --timeout seconds
            pass with no datagram either way (nc -w; counted from the first
            datagram), or on Ctrl-C, with exit 0 either way. With -k it is not
            connected: datagrams from anyone go to stdout, stdin to whoever sent
            last (nc -u -l -k).

            stdout carries the peer's bytes, so every line sockettool prints (the
            listening address, with port 0 the port chosen; with --json, every
            event) goes to stderr.

            Examples:
              sockettool listen 9000 > received.bin
                  receive a file: the sender's FIN ends it
              sockettool listen 9000 < file.bin
                  send a file to whoever connects
              sockettool listen 0 -k --max-conns 3 -x
                  three connections one after another, each chunk in hex
              sockettool listen 9000 --recv-only > out.bin
                  never read stdin; the peer's FIN ends it
              sockettool listen --unix /tmp/nc.sock
                  nc -lU: the same over a Unix socket
              sockettool listen --udp 9000 --timeout 2 > received.txt
                  nc -u -l: UDP; the first datagram's sender is the peer
            """
    )

    @OptionGroup var endpoint: ServerEndpoint

    @Flag(
        name: [.customShort("k"), .customLong("keep-open")],
        help: "Keep listening: when a connection ends, accept the next one (nc -k)."
    )
    var keepListening = false

    @Option(
        name: .customLong("max-conns"),
        help: ArgumentHelp(
            "Serve this many connections in all, one after another, then exit (implies -k). Not a cap on "
                + "connections open at once, as serve's --max-conns is: listen holds one at a time.",
            valueName: "n"
        )
    )
    var maxConnections: Int?

    @Option(
        parsing: .unconditional,
        help: ArgumentHelp(
            "End a connection when no byte moved either way for this many seconds; 0 or none: never.",
            valueName: "seconds"
        )
    )
    var timeout: Seconds?

    @OptionGroup var relay: RelayFlags
    @OptionGroup var datagram: DatagramFlag
    @OptionGroup var dump: HexDumpFlag
    @OptionGroup var output: OutputOptions

    func validate() throws {
        _ = try endpoint.resolved(for: PortTransport(udp: datagram.udp))
        if let maxConnections, maxConnections < 1 { throw ValidationError("--max-conns must be at least 1.") }
        if datagram.udp {
            if endpoint.unixPath != nil {
                throw ValidationError("--udp is UDP over IP; Unix datagram sockets are not supported: drop --unix.")
            }
            if maxConnections != nil {
                throw ValidationError(
                    "--max-conns counts connections; UDP has none (with -k, datagrams from anyone are taken): drop it."
                )
            }
            if relay.noShutdown {
                throw ValidationError("--no-shutdown keeps TCP's write side open; UDP has no FIN to hold back.")
            }
        }
    }

    /// -k, or a --max-conns that asks for more than one.
    var keepsListening: Bool { keepListening || (maxConnections ?? 1) > 1 }

    func run() throws {
        let log = output.makeRelayLog()
        log.dumpsBytes = dump.hexdump
        try reportingFailures(log) {
            ignoreBrokenPipeSignal()
            if datagram.udp {
                try listenForDatagrams(log: log)
                return
            }
            let listener = try Socket.listening(on: try endpoint.address(log: log, for: .tcp))
            defer { listener.closeListener() }
            let local = try listener.localAddress()
            log.relayListening(on: local)
            let reactor = try Reactor(kind: try Backend.fromEnvironment())
            let options = relay.options(idleTimeout: timeout.flatMap { $0.value > 0 ? $0.asDuration : nil })
            var served = 0
            var failures = 0
            var firstFailure: ClientFailure?
            repeat {
                guard try listener.wait(for: .readable, timeout: nil) == .ready,
                    let (socket, accepted) = try listener.accept()
                else { continue }
                let credentials = accepted.isUnix ? socket.peerCredentials() : nil
                let peer = accepted.shownPeer(listeningOn: local, credentials: credentials)
                // nc -l: once a connection is in, nobody else gets one (they are refused, not queued).
                if !keepsListening { listener.closeListener() }
                served += 1
                log.relayAccepted(peer.description)
                let session = Relay(
                    socket: socket,
                    peer: peer.description,
                    input: .standardInput,
                    output: .standardOutput,
                    options: options,
                    log: log
                )
                session.side = .server
                do {
                    printSummary(try session.run(on: reactor), log: log)
                } catch let error where keepsListening && !(error is LocalIOError) {
                    // One connection failed; the next may not. stdout gone is the end for all of them.
                    let diagnosis = Diagnosis(error)
                    log.error(diagnosis.message, hint: diagnosis.hint, fields: [("kind", .string(diagnosis.kind))])
                    if failures == 0 { firstFailure = ClientFailure(kind: .other, message: diagnosis.message) }
                    failures += 1
                }
                log.relayClosing(peer.description)
            } while keepsListening && served < (maxConnections ?? .max)
            if failures > 0 {
                throw PartialFailure(failed: failures, total: served, first: firstFailure)
            }
        }
    }
}

extension Listen {
    /// --udp: nc -u -l (see the discussion).
    private func listenForDatagrams(log: EventLog) throws {
        let session = try DatagramRelaySession(
            options: relay.options(idleTimeout: timeout.flatMap { $0.value > 0 ? $0.asDuration : nil }),
            log: log
        )
        let socket = try DatagramSocket.bound(to: try endpoint.address(log: log, for: .udp))
        let local: SocketAddress
        do {
            local = try socket.localAddress()
        } catch {
            socket.close()
            throw error
        }
        log.relayListening(on: local)
        if let summary = try session.listen(on: socket, followsSender: keepListening) {
            printSummary(summary, log: log)
        }
    }
}
