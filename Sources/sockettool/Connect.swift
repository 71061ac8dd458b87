// Connect.swift -- `connect`: the guide's echo-client.py and multiconn-client.py, netcat mode, and a load mode.
import ArgumentParser
import Glibc
import SocketCore

struct Connect: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "echo-client.py and multiconn-client.py: send, read every byte back, check it.",
        discussion: """
            With no options it sends 'Hello, world' and prints what comes back.
            It exits non-zero if any byte differs or any connection fails.

            Examples:
              sockettool connect 127.0.0.1 65432
                  Received b'Hello, world'
              sockettool connect 127.0.0.1 65432 -m one -m two
                  two messages, one echo
              sockettool connect 127.0.0.1 65432 --conns 2
                  multiconn-client.py, with the guide's two messages
              sockettool connect 127.0.0.1 65432 --bytes 1048576
                  1 MiB of a random pattern, checked
              sockettool connect 127.0.0.1 65432 --recv-size 5
                  recv(5) returned 5 bytes: b'Hello', ... 2 bytes: b'ld'
              sockettool connect 127.0.0.1 65432 -m - < file.bin
                  netcat: stdin to the server, the server to stdout; when
                  stdin ends, FIN, and the server's bytes until it closes
              sockettool connect 127.0.0.1 65432 -m - -x < /dev/null
                  the same, every chunk dumped in hex on stderr
              sockettool connect --udp 127.0.0.1 65432 -m one -m two
                  UDP ('serve echo --udp'): each message one datagram
              sockettool connect --udp 127.0.0.1 65432 -m - --timeout 2
                  nc -u: each read of stdin one datagram, each datagram to
                  stdout; UDP has no FIN, so it ends 2 s after the last
                  datagram either way (without --timeout: on Ctrl-C, exit 0)
              sockettool connect 127.0.0.1 65432 --duration 5 --conns 16
                  load: MB/s and round-trip latency percentiles
              sockettool connect --unix /tmp/echo.sock --conns 2
                  any mode over a Unix socket ('serve multi --unix')
              sockettool connect -4 localhost http --source 127.0.0.2
                  IPv4 only, port 80 by service name, from 127.0.0.2
              sockettool connect 127.0.0.1 65432 --send-only --duration 5
                  one-way load to 'serve discard', iperf3's lines and summary
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
        help: ArgumentHelp(
            "Send this many bytes of a reproducible random pattern instead of messages (256 MiB at most).",
            valueName: "n"
        )
    )
    var bytes: ByteCount?

    @Option(
        help: ArgumentHelp(
            "Open this many connections at once on one event loop, each sending the messages.",
            valueName: "n"
        )
    )
    var conns: Int?

    @Option(
        parsing: .unconditional,
        help: ArgumentHelp(
            "Load mode: stream for this many seconds and report MB/s and round-trip latency; with --send-only, one way (to 'serve discard'), as iperf3.",
            valueName: "seconds"
        )
    )
    var duration: Seconds?

    @Option(
        help: ArgumentHelp(
            "Load mode: bytes per chunk. Default: 16384 (with --send-only, 131072, as iperf3 writes).",
            valueName: "bytes"
        )
    )
    var size: ByteCount?

    /// Bytes per chunk in load mode.
    var chunkSize: Int { size?.bytes ?? (relay.sendOnly ? 131072 : 16384) }

    @Option(
        help: ArgumentHelp(
            "Load mode: most bytes in flight (sent, not yet echoed) per connection. Default: 4 chunks.",
            valueName: "bytes"
        )
    )
    var window: ByteCount?

    @Option(
        help: ArgumentHelp(
            "Bytes each recv() asks for (the guide's recv(1024)), 1 to 65536; one connection then prints every "
                + "read, which may bring less.",
            valueName: "bytes"
        )
    )
    var recvSize: ByteCount?

    @OptionGroup var load: LoadFlags
    @OptionGroup var relay: RelayFlags
    @OptionGroup var datagram: DatagramFlag
    @OptionGroup var dump: HexDumpFlag
    @OptionGroup var client: ClientFlags
    @OptionGroup var output: OutputOptions

    /// The most --bytes (times --conns) sent and checked: twice this in memory.
    static let maximumCheckedBytes = 256 << 20

    /// The guide's multiconn-client messages.
    static let guideMessages = ["Message 1 from client.", "Message 2 from client."]

    var isNetcat: Bool { messages == ["-"] }

    /// How a service name as the port is read: TCP's, or UDP's with --udp.
    var transport: PortTransport { PortTransport(udp: datagram.udp) }

    func validate() throws {
        _ = try endpoint.resolved(for: transport)
        if messages.contains("-") && messages.count > 1 {
            throw ValidationError("Netcat mode ('-m -') sends standard input only; drop the other messages.")
        }
        if let bytes, bytes.bytes < 1 { throw ValidationError("--bytes must be at least 1.") }
        if bytes != nil && !messages.isEmpty { throw ValidationError("Choose one of --message and --bytes.") }
        if let conns, conns < 1 { throw ValidationError("--conns must be at least 1.") }
        if isNetcat && conns != nil { throw ValidationError("Netcat mode ('-m -') uses one connection; drop --conns.") }
        if relay.isAnySet && !isNetcat && !(duration != nil && relay.sendOnly && !relay.noShutdown) {
            throw ValidationError(
                duration == nil || !relay.sendOnly
                    ? "--no-shutdown, --send-only and --recv-only apply to netcat mode ('-m -'); "
                        + "--send-only also to load mode (--duration)."
                    : "--no-shutdown applies to netcat mode ('-m -'): a send-only load run always ends with FIN."
            )
        }
        if relay.sendOnly && duration != nil && window != nil {
            throw ValidationError("--window limits bytes awaiting their echo; --send-only expects none: drop it.")
        }
        if dump.hexdump && duration != nil {
            throw ValidationError("-x dumps each chunk; a load run (--duration) sends millions: drop one of them.")
        }
        if datagram.udp {
            if conns != nil || duration != nil || bytes != nil || (dump.hexdump && !isNetcat) {
                throw ValidationError(
                    "--udp sends each --message as one datagram (or relays stdin with -m -); drop --conns, "
                        + "--duration, --bytes, and -x without -m -."
                )
            }
            if endpoint.dial.unixPath != nil {
                throw ValidationError("--udp is UDP over IP; Unix datagram sockets are not supported: drop --unix.")
            }
            if relay.noShutdown {
                throw ValidationError("--no-shutdown keeps TCP's write side open; UDP has no FIN to hold back.")
            }
            if recvSize != nil {
                throw ValidationError("--recv-size applies to TCP reads; a UDP receive always takes a whole datagram.")
            }
            if client.connectTimeout != nil {
                throw ValidationError(
                    "--connect-timeout bounds TCP's handshake; UDP has none (--timeout bounds the wait for replies)."
                )
            }
            if messages.contains(where: { $0.utf8.count > DatagramSocket.maximumPayload }) {
                throw ValidationError("A UDP datagram carries at most \(DatagramSocket.maximumPayload) bytes.")
            }
        }
        if let duration {
            if duration <= 0 { throw ValidationError("--duration must be more than 0 seconds.") }
            if !messages.isEmpty || bytes != nil {
                throw ValidationError("Load mode (--duration) sends its own pattern; drop --message and --bytes.")
            }
        } else {
            // Asked first: a range check on an option that does not apply would send the user the wrong way.
            try LoadFlags.refuseOutsideLoadMode(
                [("--size", size != nil), ("--window", window != nil), ("--threads", load.threads != nil)],
                loadFlags: "--duration"
            )
        }
        if let bytes, bytes.bytes > Self.maximumCheckedBytes / max(conns ?? 1, 1) {
            // Each payload and its echo are held in memory to be checked byte for byte.
            throw ValidationError(
                "--bytes is at most 256 MiB (268435456) in all connections together: the payload and its echo "
                    + "are kept in memory to be checked. For a longer stream use --duration."
            )
        }
        if chunkSize < 1 || chunkSize > 1 << 24 { throw ValidationError("--size must be from 1 byte to 16 MiB.") }
        if let window, window.bytes < chunkSize { throw ValidationError("--window must be at least --size.") }
        if let conns, load.threadCount > conns { throw ValidationError("--threads cannot exceed --conns.") }
        if let recvSize {
            if isNetcat || duration != nil {
                throw ValidationError("--recv-size applies to echo connections; drop it with -m - and --duration.")
            }
            if recvSize.bytes < 1 || recvSize.bytes > MultiConnectionClient.largestReceiveSize {
                throw ValidationError("--recv-size must be from 1 to 65536 bytes.")
            }
        }
    }

    func run() throws {
        // In netcat mode stdout carries the server's bytes: every line goes to stderr.
        let log = isNetcat ? output.makeRelayLog() : output.makeLog()
        log.dumpsBytes = dump.hexdump
        // An app server would read "He" of "Hello, world" as a header length and wait: point to an echo server.
        let server =
            datagram.udp
            ? "sockettool serve echo --udp \(endpoint.serverArguments)"
            : "sockettool serve multi \(endpoint.serverArguments)"
        let udp = datagram.udp
        let refine: (any Error, Diagnosis) -> Diagnosis = { _, diagnosis in
            // ss lists UDP sockets with -u; a TCP listing would not show the server the hint asks for.
            guard udp else { return diagnosis }
            var diagnosis = diagnosis
            diagnosis.hint = diagnosis.hint?.replacing("'ss -ltn'", with: "'ss -lun'")
            return diagnosis
        }
        try reportingFailures(log, server: server, results: isNetcat ? nil : log.output, refine: refine) {
            ignoreBrokenPipeSignal()
            let target = try endpoint.target(for: transport)
            if let duration {
                if relay.sendOnly {
                    try runSendLoad(target, seconds: duration, log: log)
                } else {
                    try runLoad(target, seconds: duration, log: log)
                }
                return
            }
            if datagram.udp && isNetcat {
                let session = try DatagramRelaySession(
                    options: relay.options(idleTimeout: client.relayIdleTimeout),
                    log: log
                )
                printSummary(try session.connect(to: target), log: log)
                return
            }
            if datagram.udp {
                try runDatagrams(target, log: log)
                return
            }
            let summary: TransferSummary
            if isNetcat {
                summary = try runNetcat(target, log: log)
            } else if let conns {
                summary = try runMulti(target, count: conns, log: log)
            } else {
                summary = try EchoClient.run(
                    target: target,
                    payload: payload(for: 0),
                    options: client.options,
                    log: log,
                    reactor: try Reactor(kind: try Backend.fromEnvironment()),
                    receiveSize: recvSize?.bytes
                )
            }
            printSummary(summary, log: log)
        }
    }

    /// What connection `index` sends, as the messages it sends one by one.
    private func messageList(for index: Int) -> [[UInt8]] {
        if let bytes { return [PayloadPattern().stream(index, count: bytes.bytes)] }
        let texts = messages.isEmpty ? (conns == nil ? ["Hello, world"] : Self.guideMessages) : messages
        return texts.map { Array($0.utf8) }
    }

    private func payload(for index: Int) -> [UInt8] { messageList(for: index).flatMap { $0 } }

    private func runMulti(_ target: DialTarget, count: Int, log: EventLog) throws -> TransferSummary {
        DescriptorLimit.raiseToHardLimit()
        let reactor = try Reactor(kind: try Backend.fromEnvironment())
        let multi = MultiConnectionClient(reactor: reactor, log: log, options: client.options)
        multi.receiveSize = recvSize?.bytes
        multi.start(target: target, count: count) { id in messageList(for: id - 1) }
        return try multi.run()
    }

    private func runLoad(_ target: DialTarget, seconds: Seconds, log: EventLog) throws {
        DescriptorLimit.raiseToHardLimit()
        let connections = conns ?? 1
        let threads = load.threadCount
        let deadline = MonotonicClock.now() &+ seconds.asDuration.nanoseconds
        let (size, window, clientOptions) = (chunkSize, window?.bytes ?? 4 * chunkSize, client.options)
        let progress = LoadProgress()
        let printer = LoadProgressPrinter(log: log, unit: "chunks")
        let report = try runInterruptibleLoad(threads: threads, progress: progress, printer: printer) { index in
            // Streams are split evenly over the threads.
            let streams = (connections * index / threads)..<(connections * (index + 1) / threads)
            let options = EchoLoadOptions(
                target: target,
                streams: streams,
                chunkSize: size,
                window: window,
                deadline: deadline,
                client: clientOptions
            )
            return EchoLoadWorker(
                reactor: try Reactor(kind: try Backend.fromEnvironment()),
                options: options,
                progress: progress
            )
        }
        let header =
            "Echo load against \(target.first): \(connections) connection\(connections == 1 ? "" : "s"), "
            + "\(NumberFormat.bytes(size)) chunks, \(NumberFormat.duration(nanoseconds: report.nanoseconds))"
        let gigabits = NumberFormat.fixed(report.megabytesPerSecond * 8 / 1000, decimals: 2)
        let lines = [
            header,
            "  throughput  \(NumberFormat.fixed(report.megabytesPerSecond, decimals: 1)) MB/s (\(gigabits) Gbit/s) echoed and checked",
            "  round trip  \(report.latencyText)  (\(NumberFormat.grouped(report.completed)) chunks)",
            "  failures    \(report.failureText)",
        ]
        let fields: [(String, JSONValue)] = [
            ("mode", .string("echo")), ("connections", .int(connections)), ("chunk_bytes", .int(size)),
            ("mb_per_s", .double(report.megabytesPerSecond)), ("chunks", .int(report.completed)),
        ]
        try reportLoad(report, lines: lines, fields: fields, attempts: connections, unit: "connections", log: log) {
            "  stream \($0.stream)    \(NumberFormat.grouped($0.bytesReceived)) bytes echoed and checked "
                + "(\(NumberFormat.fixed(Double($0.bytesReceived) / 1e6 / (Double(max(report.nanoseconds, 1)) / 1e9), decimals: 1)) MB/s)"
        }
    }

    private func runNetcat(_ target: DialTarget, log: EventLog) throws -> TransferSummary {
        let started = MonotonicClock.now()
        let (socket, address) = try Dialer.connect(to: target, options: client.options)
        log.connected(socket, to: address, startedAt: started)
        let relay = Relay(
            socket: socket,
            peer: address.description,
            input: .standardInput,
            output: .standardOutput,
            options: relay.options(idleTimeout: client.relayIdleTimeout),
            log: log
        )
        return try relay.run(on: try Reactor(kind: try Backend.fromEnvironment()))
    }
}

extension Connect {
    /// --udp: each message one datagram to the first address (UDP has no handshake to try the others
    /// with), and the echoes until all are back or --timeout passes (0: wait for every one).
    private func runDatagrams(_ target: DialTarget, log: EventLog) throws {
        let peer =
            target.source.flatMap { source in target.addresses.first { $0.family == source.family } }
            ?? target.first
        let client = try DatagramEchoClient(
            peer: peer,
            source: target.source,
            messages: messageList(for: 0),
            log: log
        )
        let report = try client.run(
            on: try Reactor(kind: try Backend.fromEnvironment()),
            timeout: self.client.options.timeout
        )
        switch log.format {
        case .json: log.event("summary", level: .quiet, text: report.text, fields: report.fields)
        case .text: if log.verbosity >= .normal { log.diagnostics.writeLine(report.text) }
        }
    }
}
