// LoadOutput.swift -- progress and summaries of the load modes of `connect` and `search`.
import ArgumentParser
import Glibc
import SocketCore

/// --threads, shared by the load modes.
struct LoadFlags: ParsableArguments {
    @Option(help: ArgumentHelp("Load mode: threads generating load, one event loop each. Default: 1.", valueName: "n"))
    var threads: Int?

    /// The threads to run: 1 unless given.
    var threadCount: Int { threads ?? 1 }

    func validate() throws {
        if threadCount < 1 || threadCount > 64 { throw ValidationError("--threads must be from 1 to 64.") }
    }

    /// A load-mode option given outside load mode would be silently ignored: refuse it instead.
    static func refuseOutsideLoadMode(_ given: [(flag: String, isSet: Bool)], loadFlags: String) throws {
        guard let flag = given.first(where: \.isSet)?.flag else { return }
        throw ValidationError("\(flag) applies to load mode only; add \(loadFlags).")
    }
}

/// Prints load progress once a second: a redrawn line on a terminal, plain lines when piped, an
/// "interval" event with --json. Remembers the last counts to print rates.
final class LoadProgressPrinter {
    private let log: EventLog
    private let unit: String
    private var last = (completed: 0, failed: 0, bytes: 0)
    private var lastTime: UInt64 = 0
    private var redrawing = false

    init(log: EventLog, unit: String) {
        self.log = log
        self.unit = unit
    }

    func print(_ progress: LoadProgress, elapsed: UInt64) {
        let now = progress.snapshot()
        let seconds = Double(elapsed &- lastTime) / 1e9
        let rate = Double(now.completed - last.completed) / max(seconds, 1e-9)
        let megabytes = Double(now.bytes - last.bytes) / 1e6 / max(seconds, 1e-9)
        last = now
        lastTime = elapsed
        let text =
            "[\(NumberFormat.fixed(Double(elapsed) / 1e9, decimals: 1)) s] \(NumberFormat.grouped(Int(rate))) \(unit)/s"
            + "  \(NumberFormat.fixed(megabytes, decimals: 1)) MB/s  \(NumberFormat.grouped(now.completed)) done"
            + (now.failed > 0 ? "  \(now.failed) failed" : "")
        switch log.format {
        case .json:
            log.event(
                "interval",
                level: .quiet,
                text: text,
                fields: [
                    ("elapsed_s", .double(Double(elapsed) / 1e9)), ("rate", .double(rate, decimals: 1)),
                    ("mb_per_s", .double(megabytes, decimals: 3)), ("completed", .int(now.completed)),
                    ("failed", .int(now.failed)),
                ]
            )
        case .text:
            guard log.verbosity >= .normal else { return }
            if log.diagnostics.canRedrawBeside(log.output) {
                log.diagnostics.redrawLive(text)
                redrawing = true
            } else {
                log.diagnostics.writeLine(text)
            }
        }
    }

    /// Ends a redrawn line so the summary starts on its own.
    func finish() {
        if redrawing { log.diagnostics.write("\r\u{1B}[2K") }
    }
}

/// iperf3's per-second lines for a send-only run -- interval, bytes sent, bit rate, retransmits and the
/// congestion window(s) from TCP_INFO -- kept on stdout as iperf3 keeps them; an "interval" event with --json.
final class SendProgressPrinter {
    private let log: EventLog
    /// "[  1]" for one stream, "[SUM]" for several, as iperf3 labels them.
    let label: String
    private var last = (bytes: 0, retransmits: 0)
    /// The end of the last interval printed (ns since the start).
    private(set) var lastTime: UInt64 = 0
    private var headerPrinted = false

    static let header = "[ ID] Interval           Transfer     Bitrate         Retr  Cwnd"

    init(log: EventLog, streams: Int) {
        self.log = log
        self.label = streams == 1 ? "[  1]" : "[SUM]"
    }

    func print(_ progress: LoadProgress, elapsed: UInt64) {
        let bytes = progress.bytesSent.load(ordering: .relaxed)
        let retransmits = progress.retransmits.load(ordering: .relaxed)
        let window = progress.congestionWindowBytes.load(ordering: .relaxed)
        let moved = bytes - last.bytes
        let rate = ThroughputFormat.bitsPerSecond(bytes: moved, nanoseconds: elapsed &- lastTime)
        let line =
            "\(label) \(Self.interval(from: lastTime, to: elapsed))  \(ThroughputFormat.bytes(moved))"
            + "  \(ThroughputFormat.bitRate(rate))  \(ThroughputFormat.padded(String(retransmits - last.retransmits), width: 4))"
            + "   \(ThroughputFormat.bytes(window))"
        let fields: [(String, JSONValue)] = [
            ("start_s", .double(Double(lastTime) / 1e9)), ("end_s", .double(Double(elapsed) / 1e9)),
            ("bytes", .int(moved)), ("bits_per_second", .double(rate, decimals: 0)),
            ("retransmits", .int(retransmits - last.retransmits)), ("cwnd_bytes", .int(window)),
        ]
        let header = headerPrinted ? "" : Self.header + "\n"
        log.event("interval", text: header + line, fields: fields)
        headerPrinted = true
        last = (bytes, retransmits)
        lastTime = elapsed
    }

    /// "  0.00-1.00   sec", iperf3's "%6.2f-%-6.2f sec".
    static func interval(from start: UInt64, to end: UInt64) -> String {
        let first = ThroughputFormat.padded(NumberFormat.fixed(Double(start) / 1e9, decimals: 2), width: 6)
        let second = NumberFormat.fixed(Double(end) / 1e9, decimals: 2)
        return first + "-" + second + String(repeating: " ", count: max(0, 6 - second.count)) + " sec"
    }
}

/// Runs the load workers, printing progress once a second. Ctrl-C or SIGTERM ends the run early with its
/// summary (a second signal ends the process at once).
func runInterruptibleLoad(
    threads: Int,
    progress: LoadProgress,
    printer: LoadProgressPrinter,
    makeWorker: @escaping @Sendable (Int) throws -> LoadWorker
) throws -> LoadReport {
    let report = try runInterruptibleLoad(
        threads: threads,
        progress: progress,
        interval: printer.print,
        makeWorker: makeWorker
    )
    printer.finish()
    return report
}

/// The same, with any once-a-second `interval` printer.
func runInterruptibleLoad(
    threads: Int,
    progress: LoadProgress,
    interval: (LoadProgress, UInt64) -> Void,
    makeWorker: @escaping @Sendable (Int) throws -> LoadWorker
) throws -> LoadReport {
    SignalPipe.shared.install([SIGINT, SIGTERM])
    return try LoadRunner.run(
        threads: threads,
        progress: progress,
        interval: interval,
        signals: SignalPipe.shared,
        makeWorker: makeWorker
    )
}

/// Prints a load run's summary (the text lines, or one "summary" event with `fields` and the report's
/// latency and failure members); then exits 128 + signal if a signal ended the run, or fails the command if
/// anything failed. A streaming run also lists its streams: every one with -v, else the failed ones (so
/// the summary says which), and all of them in the JSON's "streams", each line written by `streamLine`.
func reportLoad(
    _ report: LoadReport,
    lines: [String],
    fields: [(String, JSONValue)],
    attempts: Int,
    unit: String,
    log: EventLog,
    streamLine: (StreamReport) -> String = { _ in "" }
) throws {
    var lines = lines
    var fields = report.commonFields + fields
    if !report.streams.isEmpty {
        for stream in report.streams where log.verbosity >= .verbose || stream.failure != nil {
            lines.append(streamLine(stream) + (stream.failure.map { "  FAILED: " + $0.message } ?? ""))
        }
        fields.append(("streams", .array(report.streams.map(\.jsonValue))))
    }
    if let signal = report.interruption {
        let name = signalName(signal)
        lines.append("  stopped     early by \(name): the figures cover the run until then")
        fields.append(("interrupted", .string(name)))
    }
    log.event("summary", level: .quiet, text: lines.joined(separator: "\n"), fields: fields)
    // Interrupted, the run did not do what was asked, whatever else happened: 128 + signal, as a shell says.
    if let signal = report.interruption { throw ExitCode(128 + signal) }
    if report.failureCount > 0 {
        throw PartialFailure(failed: report.failureCount, total: attempts, first: report.firstFailure, unit: unit)
    }
}

extension StreamReport {
    /// One stream in the JSON summary's "streams".
    var jsonValue: JSONValue {
        var members = [
            JSONMember("stream", .int(stream)), JSONMember("bytes_sent", .int(bytesSent)),
            JSONMember("bytes_received", .int(bytesReceived)),
        ]
        if let retransmits { members.append(JSONMember("retransmits", .int(retransmits))) }
        members.append(JSONMember("failure", failure.map { .string($0.kind.reportName) } ?? .null))
        if let failure { members.append(JSONMember("error", .string(failure.message))) }
        return .object(members)
    }
}
