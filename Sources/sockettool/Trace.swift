// Trace.swift -- `trace`: the guide's Wireshark/tshark section, on loopback, with the app protocol's frames
// decoded under the TCP segments that carry them.
import ArgumentParser
import SocketCore

struct Trace: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Capture loopback packets and show them as tshark does, the guide's frames decoded under them.",
        discussion: """
            The guide's Troubleshooting section captures one exchange with tshark:
            the handshake, the 146-byte request, the 148-byte response, FIN and ACK.
            trace shows the same lines (number, time, source → destination, flags,
            relative Seq/Ack, Win, Len, the TCP options), and under a segment that
            completes a message of the guide's protocol, that message: its 2-byte
            length, its JSON header, its content. At the end it says who sent the
            first FIN, and so which side keeps the connection in TIME_WAIT.

            It captures on the loopback interface only, through a packet socket
            with a kernel BPF filter on the port, so it sees nothing else. Loopback
            hands a capture every packet twice (leaving and arriving); like tshark,
            trace shows it once. Capturing needs root or the CAP_NET_RAW capability;
            reading a saved capture (--read) needs neither.

            Examples:
              sockettool trace --port 65432              until Ctrl-C (exit 0, then the summary)
              sockettool trace --port 65432 --count 10   one search exchange
              sockettool trace --port 65432 --pcap search.pcap
                                                         and a file for Wireshark
              sockettool trace --read search.pcap        the saved capture again
              sockettool trace --port 65432 --json       one JSON object per packet
              sockettool trace --port 65432 --count 10 --plot search.svg
                                                         the exchange as a ladder diagram
              sockettool trace --read search.pcap --plot search.svg

            Then, in another terminal: sockettool search 127.0.0.1 65432 morpheus
            """
    )

    @Option(help: "Only packets from or to this port (TCP or UDP); without it, every TCP and UDP packet on loopback.")
    var port: UInt16?

    @Option(help: "Stop after this many packets.")
    var count: Int?

    @Option(help: ArgumentHelp("Stop after this many seconds.", valueName: "seconds"))
    var duration: Seconds?

    @Option(
        help: ArgumentHelp(
            "Also write the packets to this pcap file (Wireshark, tshark -r, tcpdump -r).",
            valueName: "file"
        )
    )
    var pcap: String?

    @Option(
        help: ArgumentHelp(
            "Read a saved capture (pcap or pcapng) instead of capturing; needs no privilege.",
            valueName: "file"
        )
    )
    var read: String?

    @Option(
        help: ArgumentHelp(
            "Draw each TCP connection as a ladder diagram (SVG): client and server time lines, one arrow per segment.",
            valueName: "file.svg"
        )
    )
    var plot: String?

    @OptionGroup var output: OutputOptions

    func validate() throws {
        if let count, count < 1 { throw ValidationError("--count needs at least 1 packet.") }
        if read != nil && pcap != nil {
            throw ValidationError("--read and --pcap do not go together: the file is already saved.")
        }
        if read != nil && duration != nil { throw ValidationError("--duration is for a live capture, not --read.") }
        try validatePlotName(plot, example: "search.svg")
    }

    func run() throws {
        let log = output.makeLog()
        try reportingFailures(log, refine: hint) {
            let plotFile = try plot.map { path throws(SystemError) in try PlotFile(creating: path) }
            defer { plotFile?.close() }
            var drawn: [TracedPacket] = []
            let show = { (packet: TracedPacket) in
                log.event("packet", fields: packet.fields) { line in
                    line.append(contentsOf: TraceText.lines(packet).joined(separator: "\n").utf8)
                }
                if plotFile != nil && drawn.count < LadderPlot.maximumConnections * LadderPlot.maximumPackets {
                    drawn.append(packet)
                }
            }
            let analyzer: TraceAnalyzer
            var dropped = 0
            if let read {
                let (result, problem) = try CaptureReplay.run(path: read, port: port, count: count, each: show)
                if let problem { log.warning("\(read): \(problem)") }
                analyzer = result
            } else {
                ignoreBrokenPipeSignal()
                let file = try pcap.map { path throws(SystemError) in try AppendingFile(creating: path) }
                defer { file?.close() }
                let capture = try PacketCapture(port: port, pcap: file)
                defer { capture.close() }
                let signals = SignalPipe.shared
                signals.install(SignalNumber.stopping)
                defer { signals.uninstall(SignalNumber.stopping) }
                announce(log)
                let deadline = duration.map { MonotonicClock.now() &+ $0.asDuration.nanoseconds }
                _ = try capture.run(count: count, deadline: deadline, signals: signals, each: show)
                capture.collectDrops()
                dropped = capture.dropped
                analyzer = capture.analyzer
            }
            if let plotFile {
                try plotFile.writeAndClose(LadderPlot.svg(packets: drawn, connections: analyzer.connections))
                log.diagnostics.writeLine("Ladder diagram written to \(plotFile.path)")
            }
            log.event(
                "summary",
                level: .quiet,
                text: TraceText.summary(analyzer, dropped: dropped).joined(separator: "\n"),
                fields: analyzer.summaryFields(dropped: dropped)
            )
        }
    }

    /// tshark's "Capturing on 'Loopback'", on stderr, once the filter is attached: a script may start the
    /// traffic it wants to see as soon as this line appears.
    private func announce(_ log: EventLog) {
        let what = port.map { "TCP and UDP packets from or to port \($0)" } ?? "every TCP and UDP packet"
        if log.verbosity >= .normal {
            log.diagnostics.writeLine("Capturing on '\(PacketCapture.interface)': \(what) (Ctrl-C stops)")
        }
        if log.format == .json {
            let fields: [(String, JSONValue)] = [
                ("interface", .string(PacketCapture.interface)), ("port", port.map { .int($0) } ?? .null),
            ]
            log.event("capturing", level: .quiet, text: "", fields: fields)
        }
        log.flush()
    }

    /// What to do without the privilege to capture.
    private func hint(_ error: any Error, _ diagnosis: Diagnosis) -> Diagnosis {
        guard let error = error as? SystemError, error.call == "socket",
            error.errno == .notPermitted || error.errno == .permissionDenied
        else { return diagnosis }
        var refined = diagnosis
        refined.hint =
            "capturing packets needs root or the CAP_NET_RAW capability: run it with sudo, or allow it once with "
            + "'sudo setcap cap_net_raw+ep $(command -v sockettool)'. Reading a saved capture (--read FILE) needs neither."
        refined.exitStatus = ExitStatus.permissionDenied
        return refined
    }
}
