// Connect.swift -- `connect`: the guide's echo-client.py and multiconn-client.py, netcat mode, and a load mode.
import ArgumentParser
import Glibc
import SocketCore

struct Connect: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Echo client: send, read every byte back, check it (echo-client.py, multiconn-client.py).",
        discussion: """
            With no options it sends 'Hello, world' and prints what comes back, like echo-client.py. Exits non-zero
            if any byte differs or any connection fails.

            Examples:
              sockettool connect 127.0.0.1 65432                     Received b'Hello, world'
              sockettool connect 127.0.0.1 65432 -m one -m two       two messages, one echo
              sockettool connect 127.0.0.1 65432 --conns 2           multiconn-client.py: the guide's two messages
              sockettool connect 127.0.0.1 65432 --bytes 1048576     1 MiB of random bytes, checked
              sockettool connect 127.0.0.1 65432 -m -                netcat: stdin to the server, the server to stdout
              sockettool connect 127.0.0.1 65432 --duration 5 --conns 16   load: MB/s and round-trip latency
            """
    )

    @OptionGroup var endpoint: ClientEndpoint

    @Option(
        name: [.short, .customLong("message")],
        help: ArgumentHelp(
            "A message to send (repeatable); '-' relays stdin and stdout like netcat.",
            valueName: "text"
        )
    )
    var messages: [String] = []

    @Option(
        help: ArgumentHelp("Send this many bytes of a reproducible random pattern instead of messages.", valueName: "n")
    )
    var bytes: Int?

    @Option(
        help: ArgumentHelp(
            "Open this many connections at once on one event loop, each sending the messages.",
            valueName: "n"
        )
    )
    var conns: Int?

    @OptionGroup var client: ClientFlags
    @OptionGroup var output: OutputOptions

    /// The guide's multiconn-client messages.
    static let guideMessages = ["Message 1 from client.", "Message 2 from client."]

    var isNetcat: Bool { messages == ["-"] }

    func validate() throws {
        if messages.contains("-") && messages.count > 1 {
            throw ValidationError("'-m -' (netcat mode) cannot be combined with other messages.")
        }
        if let bytes, bytes < 1 { throw ValidationError("--bytes must be at least 1.") }
        if bytes != nil && !messages.isEmpty { throw ValidationError("Choose one of --message and --bytes.") }
        if let conns, conns < 1 { throw ValidationError("--conns must be at least 1.") }
        if isNetcat && conns != nil { throw ValidationError("Netcat mode ('-m -') uses one connection; drop --conns.") }
    }

    func run() throws {
        let log = output.makeLog()
        try reportingFailures(log) {
            ignoreBrokenPipeSignal()
            let addresses = try endpoint.addresses()
            let summary: TransferSummary
            if isNetcat {
                summary = try runNetcat(addresses, log: log)
            } else if let conns {
                summary = try runMulti(addresses[0], count: conns, log: log)
            } else {
                summary = try EchoClient.run(
                    addresses: addresses,
                    payload: payload(for: 0),
                    options: client.options,
                    log: log
                )
            }
            printSummary(summary, log: log)
        }
    }

    /// What connection `index` sends, as the messages it sends one by one.
    private func messageList(for index: Int) -> [[UInt8]] {
        if let bytes { return [PayloadPattern().stream(index, count: bytes)] }
        let texts = messages.isEmpty ? (conns == nil ? ["Hello, world"] : Self.guideMessages) : messages
        return texts.map { Array($0.utf8) }
    }

    private func payload(for index: Int) -> [UInt8] { messageList(for: index).flatMap { $0 } }

    private func runMulti(_ address: SocketAddress, count: Int, log: EventLog) throws -> TransferSummary {
        DescriptorLimit.raiseToHardLimit()
        let reactor = try Reactor(kind: .default)
        let multi = MultiConnectionClient(reactor: reactor, log: log, options: client.options)
        multi.start(address: address, count: count) { id in messageList(for: id - 1) }
        return try multi.run()
    }

    private func runNetcat(_ addresses: [SocketAddress], log: EventLog) throws -> TransferSummary {
        let (socket, address) = try Dialer.connect(to: addresses, timeout: client.options.connectTimeout)
        log.event(
            "connected",
            level: .verbose,
            text: "Connected to \(address)",
            fields: [("peer", .string(address.description))]
        )
        // stdin may be a regular file, which epoll refuses; poll takes any descriptor.
        let session = NetcatSession(
            reactor: try Reactor(kind: .poll),
            socket: socket,
            peer: address.description,
            log: log
        )
        return try session.run()
    }
}
