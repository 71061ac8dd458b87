// FloodSend.swift -- `flood [HOST PORT]`: the one-process demo, or the guide's app-client-test.py against a
// server: send() until the kernel says EAGAIN, then show where the bytes are.
import ArgumentParser
import Glibc
import SocketCore

struct FloodSend: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "send",
        abstract: "Send until the kernel says EAGAIN: alone on loopback (no HOST PORT), or against a server.",
        discussion: """
            Without HOST and PORT, a receiver that never reads listens on a free
            127.0.0.1 port in this same process. The sender writes --chunk bytes at
            a time without blocking; after EAGAIN it waits for room and tries
            again, until send() has made no progress for --quiet-period. The queues
            are read from the kernel (SIOCINQ, SIOCOUTQ, TCP_INFO): the same
            numbers 'ss -tn' shows.

            With HOST and PORT, the receiver is whatever listens there ('sockettool
            flood serve' never reads). If it runs on this machine, its Recv-Q is
            read from /proc/net/tcp, as netstat does.

            Progress is one redrawn line on a terminal (stderr), plain lines when
            stdout is a pipe or a file, and "sample" events with --json, whose
            last line is always the summary.

            Examples:
              sockettool flood
              sockettool flood --sndbuf 4096 --rcvbuf 4096 --plot /tmp/queues.svg
              sockettool flood --drain 64k --duration 5
              sockettool flood 127.0.0.1 65432 --json
              sockettool flood send -4 localhost 65432 --source 127.0.0.2
                  IPv4 only, from 127.0.0.2 (bound before connect)
            """
    )

    @Argument(help: ArgumentHelp("Server to flood; none runs the demo with its own receiver.", valueName: "host"))
    var host: String?

    @Argument(help: ArgumentHelp("Server port. Default: 65432.", valueName: "port"))
    var port: String?

    @OptionGroup var flags: FloodFlags
    @OptionGroup var dial: DialFlags

    func validate() throws {
        if dial.unixPath != nil {
            throw ValidationError("flood reads TCP's queues (TCP_INFO, SIOCOUTQ); --unix is not supported.")
        }
        if host == nil && (dial.families.family != .any || dial.source != nil) {
            throw ValidationError(
                "-4, -6 and --source say how to reach HOST PORT; the one-process demo (no HOST) runs on 127.0.0.1."
            )
        }
        if host != nil {
            try refuseHostWithPort(host)
            _ = try target()
            if flags.rcvbuf != nil || flags.drain != nil {
                throw ValidationError(
                    "--rcvbuf and --drain set up the receiver, which is another program here: give them to "
                        + "'sockettool flood serve', or drop HOST and PORT for the one-process demo."
                )
            }
        }
    }

    /// HOST and PORT after the defaults (a lone number is the port on 127.0.0.1); nil for the demo.
    func target() throws -> (host: String, port: UInt16)? {
        guard let host else { return nil }
        if port == nil, looksLikePort(host) { return ("127.0.0.1", try parseServerPort(host)) }
        return (host, try port.map { try parseServerPort($0) } ?? guidePort)
    }

    func run() throws {
        let log = flags.output.makeLog()
        try reportingFailures(log, results: log.output, refine: refusedHint) {
            ignoreBrokenPipeSignal()
            let plotFile = try flags.plot.map { try PlotFile(creating: $0) }
            defer { plotFile?.close() }
            let display = FloodDisplay.automatic(log: log)
            let signals = SignalPipe.shared
            signals.install([SIGINT, SIGTERM])
            defer { signals.uninstall([SIGINT, SIGTERM]) }
            let finish = { (report: FloodReport) throws in
                try conclude(report, plotFile: plotFile, display: display, signals: signals)
            }
            let report: FloodReport
            if let target = try target() {
                report = try FloodExperiment.run(
                    against: try dial.target(host: target.host, port: target.port),
                    options: flags.options,
                    display: display,
                    signals: signals,
                    beforeClose: finish
                )
            } else {
                report = try FloodExperiment.runLocal(
                    options: flags.options,
                    display: display,
                    signals: signals,
                    beforeClose: finish
                )
            }
            if case .failed(let error) = report.ending { throw error }
        }
    }

    /// A refused connection here means no receiver was started: say how to start the one this experiment wants.
    private func refusedHint(_ error: any Error, _ diagnosis: Diagnosis) -> Diagnosis {
        guard let failure = error as? ClientFailure, failure.kind == .refused, let error = failure.systemError,
            let target = try? target()
        else {
            return diagnosis
        }
        var refined = diagnosis
        refined.hint =
            "nothing is listening on \(error.detail): for this experiment, start a receiver that never reads "
            + "first: 'sockettool flood serve \(target.host) \(target.port)', or run 'sockettool flood' alone for the "
            + "one-process demo."
        return refined
    }

    /// With the sockets still open: writes the plot, prints the table and summary, and holds if asked.
    private func conclude(
        _ report: FloodReport,
        plotFile: PlotFile?,
        display: FloodDisplay,
        signals: SignalPipe
    ) throws {
        var report = report
        if let plotFile {
            report.plotPath = plotFile.path
            try plotFile.writeAndClose(FloodPlot.svg(report))
        }
        report.emit(to: display)
        let command = FloodExperiment.ssCommand(port: report.peer.port)
        if flags.hold && report.ending != .interrupted {
            display.notice("holding the sockets open; compare with: \(command)   (Ctrl-C to end)")
            display.log.flush()
            _ = try FloodExperiment.waitForSignal(signals)
        } else if report.isLocalDemo && display.log.format == .text && display.log.wants(.normal) {
            display.log.event(
                "hint",
                text: "To compare with the kernel's own view, run with --hold and then: \(command)"
            )
        }
    }
}

/// The demo's and the sender's options, without HOST and PORT: the completion scripts offer them on `flood`
/// itself (see CompletionScript).
struct FloodFlags: ParsableArguments {
    @Option(help: ArgumentHelp("Bytes per send() call, e.g. 1024 or 64k.", valueName: "bytes"))
    var chunk = ByteCount(bytes: 64 * 1024)

    @Option(
        help: ArgumentHelp(
            "SO_SNDBUF to ask for before connecting, e.g. 4096 or 64k. The kernel doubles it (bookkeeping) and caps "
                + "it at net.core.wmem_max. Default: the kernel's, autotuned up to tcp_wmem's max.",
            valueName: "bytes"
        )
    )
    var sndbuf: ByteCount?

    @Option(
        help: ArgumentHelp(
            "Demo only: SO_RCVBUF of the receiver, set before listen(). The kernel doubles it too.",
            valueName: "bytes"
        )
    )
    var rcvbuf: ByteCount?

    @Option(
        help: ArgumentHelp(
            "Demo only: the receiver reads this many bytes per second (e.g. 64k): backpressure at a measured rate.",
            valueName: "rate"
        )
    )
    var drain: ByteRate?

    @Option(
        parsing: .unconditional,
        help: ArgumentHelp(
            "Seconds without send() progress that mean the buffers are full, which ends the run.",
            valueName: "seconds"
        )
    )
    var quietPeriod: Seconds = 0.4

    @Option(
        parsing: .unconditional,
        help: ArgumentHelp(
            "Run this long, even after the buffers are full (to watch a slow reader). Default: until they are "
                + "full, at most 10 s; 5 s with --drain.",
            valueName: "seconds"
        )
    )
    var duration: Seconds?

    @Option(help: ArgumentHelp("Write the queues over time to this SVG file.", valueName: "file.svg"))
    var plot: String?

    @Flag(help: "After the summary keep the sockets open until Ctrl-C, to compare with 'ss -tn' or 'netstat -tn'.")
    var hold = false

    @Option(
        parsing: .unconditional,
        help: ArgumentHelp("Seconds to wait for the TCP handshake.", valueName: "seconds")
    )
    var connectTimeout: Seconds = 5

    @OptionGroup var output: OutputOptions

    func validate() throws {
        try validateByteCount(chunk, "--chunk", maximum: 64 << 20)
        try validateByteCount(sndbuf, "--sndbuf")
        try validateByteCount(rcvbuf, "--rcvbuf")
        try validateByteCount(drain, "--drain", maximum: 1 << 40)
        try validateSeconds(quietPeriod, "--quiet-period")
        try validateSeconds(duration, "--duration")
        try validateSeconds(connectTimeout, "--connect-timeout")
        try validatePlotName(plot, example: "queues.svg")
    }

    var options: FloodOptions {
        FloodOptions(
            chunkSize: chunk.bytes,
            sendBufferSize: sndbuf?.bytes,
            receiveBufferSize: rcvbuf?.bytes,
            quietPeriod: quietPeriod.asDuration,
            duration: duration?.asDuration,
            drainRate: drain?.bytes,
            connectTimeout: connectTimeout.asDuration
        )
    }
}
