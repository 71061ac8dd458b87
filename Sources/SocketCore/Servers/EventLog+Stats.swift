// EventLog+Stats.swift -- the stats line (SIGUSR1, --stats-interval), like dd's answer to SIGUSR1: one line
// of what the server has done, or a JSON "stats" event.

/// A server's counters with what the line needs around them.
public struct ServerStatsReport: Sendable {
    /// The counters, summed over every loop.
    public var counters: ServerStats.Snapshot
    /// Nanoseconds since the server started listening.
    public var uptime: UInt64
    /// Event loops serving (`--workers`).
    public var workers: Int
    /// False for servers without requests (echo servers): the line leaves the count out.
    public var countsRequests: Bool

    public init(counters: ServerStats.Snapshot, uptime: UInt64, workers: Int = 1, countsRequests: Bool) {
        self.counters = counters
        self.uptime = uptime
        self.workers = workers
        self.countsRequests = countsRequests
    }

    /// "Stats: 2 open, 1,204 accepted, 1,200 requests, 98,304 bytes in, 1,103,872 bytes out, 3 errors
    /// (2 bad_request, 1 timeout), up 12m 04s"
    public var text: String {
        var parts = [
            "\(NumberFormat.grouped(counters.open)) open", "\(NumberFormat.grouped(counters.accepted)) accepted",
        ]
        if countsRequests { parts.append("\(NumberFormat.grouped(counters.requests)) requests") }
        parts.append("\(NumberFormat.grouped(counters.bytesIn)) bytes in")
        parts.append("\(NumberFormat.grouped(counters.bytesOut)) bytes out")
        let kinds = ServerErrorKind.allCases.filter { counters[$0] > 0 }
        let errors = "\(NumberFormat.grouped(counters.errorCount)) error\(counters.errorCount == 1 ? "" : "s")"
        parts.append(
            kinds.isEmpty
                ? errors
                : errors + " ("
                    + kinds.map { "\(NumberFormat.grouped(counters[$0])) \($0.name)" }.joined(separator: ", ")
                    + ")"
        )
        parts.append("up " + Self.uptimeText(nanoseconds: uptime))
        if workers > 1 { parts.append("\(workers) workers") }
        return "Stats: " + parts.joined(separator: ", ")
    }

    /// The JSON event's members.
    public var fields: [(String, JSONValue)] {
        var fields: [(String, JSONValue)] = [
            ("open", .int(counters.open)), ("accepted", .int(counters.accepted)),
            ("bytes_in", .int(counters.bytesIn)), ("bytes_out", .int(counters.bytesOut)),
            (
                "errors",
                .object(ServerErrorKind.allCases.map { JSONMember($0.name, .int(counters[$0])) })
            ),
            ("uptime_s", .double(Double(uptime) / 1e9)), ("workers", .int(workers)),
        ]
        if countsRequests { fields.append(("requests", .int(counters.requests))) }
        return fields
    }

    /// The STATUS= line for the service manager: short, as `systemctl status` shows it.
    public var status: String {
        var text = "\(NumberFormat.grouped(counters.open)) open, \(NumberFormat.grouped(counters.accepted)) accepted"
        if countsRequests { text += ", \(NumberFormat.grouped(counters.requests)) requests" }
        if counters.errorCount > 0 { text += ", \(NumberFormat.grouped(counters.errorCount)) errors" }
        return text
    }

    /// "41.2 s" under a minute, then "12m 04s", "3h 02m 09s", "2d 03h 04m".
    static func uptimeText(nanoseconds: UInt64) -> String {
        let seconds = Double(nanoseconds) / 1e9
        if seconds < 60 { return NumberFormat.fixed(seconds, decimals: 1) + " s" }
        let whole = Int(seconds)
        let (days, hours, minutes, rest) = (whole / 86400, whole / 3600 % 24, whole / 60 % 60, whole % 60)
        func two(_ value: Int) -> String { value < 10 ? "0\(value)" : "\(value)" }
        if days > 0 { return "\(days)d \(two(hours))h \(two(minutes))m" }
        if hours > 0 { return "\(hours)h \(two(minutes))m \(two(rest))s" }
        return "\(minutes)m \(two(rest))s"
    }
}

extension EventLog {
    /// The stats line, shown at every verbosity: someone asked for it.
    public func stats(_ report: ServerStatsReport) {
        event("stats", level: .quiet, text: report.text, fields: report.fields)
    }
}
