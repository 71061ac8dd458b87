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
            if log.diagnostics.canRedraw {
                log.diagnostics.write("\r\u{1B}[2K" + text)
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

/// Runs the load workers, printing progress once a second. Ctrl-C or SIGTERM ends the run early with its
/// summary (a second signal ends the process at once).
func runInterruptibleLoad(
    threads: Int,
    progress: LoadProgress,
    printer: LoadProgressPrinter,
    makeWorker: @escaping @Sendable (Int) throws -> LoadWorker
) throws -> LoadReport {
    SignalPipe.shared.install([SIGINT, SIGTERM])
    let report = try LoadRunner.run(
        threads: threads,
        progress: progress,
        interval: printer.print,
        signals: SignalPipe.shared,
        makeWorker: makeWorker
    )
    printer.finish()
    return report
}

/// Prints a load run's summary (the text lines, or one "summary" event with `fields` and the report's
/// latency and failure members); then exits 128 + signal if a signal ended the run, or fails the command if
/// anything failed.
func reportLoad(
    _ report: LoadReport,
    lines: [String],
    fields: [(String, JSONValue)],
    attempts: Int,
    unit: String,
    log: EventLog
) throws {
    var lines = lines
    var fields = report.commonFields + fields
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
