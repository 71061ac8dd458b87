// EventLog.swift -- one line per event: the guide's words on stdout, or NDJSON for scripts.
//
// Call sites give both renderings as autoclosures; only the one in use is evaluated, so the JSON form
// costs nothing in text mode and the reverse.

/// How much a command prints.
public enum Verbosity: Int, Sendable, Comparable {
    /// -q: results, errors and the listening line only.
    case quiet
    /// The guide's event lines.
    case normal
    /// -v: more detail (socket options, every chunk).
    case verbose

    public static func < (lhs: Verbosity, rhs: Verbosity) -> Bool { lhs.rawValue < rhs.rawValue }
}

/// Where a command's events go, and in which form.
public final class EventLog {
    /// Text lines as the guide prints them, or one JSON object per line.
    public enum Format: Sendable { case text, json }

    public let format: Format
    public let verbosity: Verbosity
    /// stdout: events (text or JSON).
    public let output: OutputBuffer
    /// stderr: errors, hints, notices, progress.
    public let diagnostics: OutputBuffer
    /// Colour for stderr's "error:"/"hint:" labels.
    public let style: TerminalStyle
    /// -x: every chunk sent and received is dumped in hex (`hexDump(_:_:offset:peer:)`).
    public var dumpsBytes = false

    public init(
        format: Format = .text,
        verbosity: Verbosity = .normal,
        output: OutputBuffer,
        diagnostics: OutputBuffer,
        style: TerminalStyle = .plain
    ) {
        self.format = format
        self.verbosity = verbosity
        self.output = output
        self.diagnostics = diagnostics
        self.style = style
    }

    /// What makes a log like this one, to make it again on another thread (each loop of `--workers` has
    /// its own log; their lines never interleave, see OutputBuffer).
    public struct Settings: Sendable {
        let format: Format
        let verbosity: Verbosity
        let style: TerminalStyle
        let dumpsBytes: Bool
        let output: (descriptor: CInt, policy: OutputBuffer.FlushPolicy)
        let diagnostics: (descriptor: CInt, policy: OutputBuffer.FlushPolicy)
    }

    /// This log's settings; nil when it writes to a test's capture.
    public var settings: Settings? {
        guard let out = output.sharedDescriptor, let err = diagnostics.sharedDescriptor else { return nil }
        return Settings(
            format: format,
            verbosity: verbosity,
            style: style,
            dumpsBytes: dumpsBytes,
            output: (out, output.policy),
            diagnostics: (err, diagnostics.policy)
        )
    }

    /// A log like the one `settings` came from, with buffers of its own.
    public convenience init(settings: Settings) {
        self.init(
            format: settings.format,
            verbosity: settings.verbosity,
            output: OutputBuffer(descriptor: settings.output.descriptor, policy: settings.output.policy),
            diagnostics: OutputBuffer(descriptor: settings.diagnostics.descriptor, policy: settings.diagnostics.policy),
            style: settings.style
        )
        dumpsBytes = settings.dumpsBytes
    }

    /// Whether events at `level` reach stdout at all: not below the verbosity, and not when stdout is
    /// /dev/null (nothing there can be read, so the lines are not even formatted). Check it before
    /// building expensive text. Messages on stderr go by `verbosity` alone.
    @inline(__always)
    public func wants(_ level: Verbosity) -> Bool { level <= verbosity && !output.isDiscarded }

    /// Prints an event: `text` on stdout in text mode, or `{"event": kind, ...fields}` in JSON mode.
    ///
    /// - Parameters:
    ///   - kind: The JSON "event" value, e.g. "accepted".
    ///   - level: The least verbosity that shows it.
    ///   - text: The guide's line.
    ///   - fields: The JSON members besides "event"; keys in snake_case.
    public func event(
        _ kind: String,
        level: Verbosity = .normal,
        text: @autoclosure () -> String,
        fields: @autoclosure () -> [(String, JSONValue)] = []
    ) {
        guard wants(level) else { return }
        switch format {
        case .text: output.writeLine(text())
        case .json: output.writeLine(Self.jsonLine(kind, fields()))
        }
    }

    /// Prints an event whose text line is built byte by byte into the output buffer: for events a server
    /// prints per request, where building a String first would cost more than the work it reports.
    public func event(
        _ kind: String,
        level: Verbosity = .normal,
        fields: @autoclosure () -> [(String, JSONValue)],
        line: (inout [UInt8]) -> Void
    ) {
        guard wants(level) else { return }
        switch format {
        case .text: output.writeLine(building: line)
        case .json: output.writeLine(Self.jsonLine(kind, fields()))
        }
    }

    /// An error: "error: <message>" and "hint: <hint>" on stderr; in JSON mode also an "error" event on
    /// stdout. Never filtered by -q.
    public func error(_ message: String, hint: String? = nil, fields: [(String, JSONValue)] = []) {
        diagnostics.writeLine(style.error("error:") + " " + message)
        if let hint { diagnostics.writeLine(style.hint("hint:") + " " + hint) }
        if format == .json {
            var all = fields
            all.append(("message", .string(message)))
            if let hint { all.append(("hint", .string(hint))) }
            output.writeLine(Self.jsonLine("error", all))
        }
    }

    /// A notice on stderr (e.g. listening on every interface), shown unless -q.
    public func notice(_ message: String) {
        guard verbosity >= .normal else { return }
        diagnostics.writeLine(style.notice("notice:") + " " + message)
    }

    /// A warning about one connection or peer that the server survives: stderr, one line.
    public func warning(_ message: String, fields: @autoclosure () -> [(String, JSONValue)] = []) {
        diagnostics.writeLine(style.warning("warning:") + " " + message)
        if format == .json {
            var all = fields()
            all.append(("message", .string(message)))
            output.writeLine(Self.jsonLine("warning", all))
        }
    }

    /// Writes both buffers (a server calls this before each sleep).
    public func flush() {
        output.flush()
        diagnostics.flush()
    }

    /// `{"event": "<kind>", ...}` with keys sorted, as one line.
    public static func jsonLine(_ kind: String, _ fields: [(String, JSONValue)]) -> String {
        var members = fields.map { JSONMember($0.0, $0.1) }
        members.append(JSONMember("event", .string(kind)))
        members.sort { $0.key.utf8.lexicographicallyPrecedes($1.key.utf8) }
        // Fields may carry a peer's text: nothing in it may drive the terminal that shows the line.
        return String(decoding: PythonJSON.encode(.object(members), terminalSafe: true), as: UTF8.self)
    }
}

@available(*, unavailable)
extension EventLog: Sendable {}

extension JSONValue {
    /// An integer JSON number.
    public static func int<T: BinaryInteger>(_ value: T) -> JSONValue { .number(text: String(value), isInteger: true) }

    /// A JSON number with a fraction, printed with up to `decimals` digits after the point.
    public static func double(_ value: Double, decimals: Int = 3) -> JSONValue {
        .number(text: NumberFormat.fixed(value, decimals: decimals), isInteger: false)
    }
}
