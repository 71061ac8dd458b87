// FloodDisplay.swift -- progress while the buffers fill: one line redrawn in place on a terminal (stderr,
// at most 10 times a second), plain interval lines when the output goes to a pipe or a file, and JSON
// "sample" events for scripts.

/// Decides how progress is shown and keeps the redrawn line out of the way of ordinary event lines.
public final class FloodDisplay {
    /// Where events go.
    public let log: EventLog
    /// Redraw one status line on stderr ("\r" ... ESC[K).
    public let showsLiveLine: Bool
    /// Print a line per interval on stdout (text), or a "sample" event per interval (JSON).
    public let printsIntervalLines: Bool
    /// Whether the live line is on the screen now (and must be erased before other output).
    private var liveLineDrawn = false

    /// The least time between two redraws of the live line: 10 Hz.
    public static let liveInterval: Duration = .milliseconds(100)
    /// The least time between two plain text interval lines: 4 a second keeps a pipe readable.
    public static let lineInterval: Duration = .milliseconds(250)

    public init(log: EventLog, showsLiveLine: Bool, printsIntervalLines: Bool) {
        self.log = log
        self.showsLiveLine = showsLiveLine
        self.printsIntervalLines = printsIntervalLines
    }

    /// The usual choice: a live line when stderr is a terminal that can erase a line and stdout is one too
    /// (piped, its reader would print beside the live line); interval lines when
    /// there is no live line to watch (stdout not a terminal, or a dumb one) and in JSON mode, where every
    /// interval is a "sample" event. -q shows neither.
    public static func automatic(log: EventLog) -> FloodDisplay {
        FloodDisplay(
            log: log,
            showsLiveLine: log.verbosity >= .normal && log.diagnostics.canRedrawBeside(log.output),
            printsIntervalLines: log.wants(.normal)
                && (log.format == .json || !log.output.isTerminal || !log.diagnostics.canRedraw)
        )
    }

    /// Redraws the live line (call at most every `liveInterval`).
    public func live(_ text: String) {
        guard showsLiveLine else { return }
        log.output.flush()
        log.diagnostics.redrawLive(text)
        log.diagnostics.flush()
        liveLineDrawn = true
    }

    /// Erases the live line, so the next output starts on a clean line.
    public func clearLive() {
        guard liveLineDrawn else { return }
        log.diagnostics.write("\r\u{1B}[K")
        log.diagnostics.flush()
        liveLineDrawn = false
    }

    /// An event line, with the live line erased first and redrawn by the next `live` call.
    public func event(
        _ kind: String,
        level: Verbosity = .normal,
        text: @autoclosure () -> String,
        fields: @autoclosure () -> [(String, JSONValue)] = []
    ) {
        guard log.wants(level) else { return }
        clearLive()
        log.event(kind, level: level, text: text(), fields: fields())
    }

    /// A notice on stderr, with the live line erased first.
    public func notice(_ message: String) {
        clearLive()
        log.notice(message)
    }
}

@available(*, unavailable)
extension FloodDisplay: Sendable {}
