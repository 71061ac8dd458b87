// LoadReport.swift -- what a load run measured: completed work, failures by kind, bytes, latency
// percentiles from a histogram; printed for people and as JSON.

/// What one stream of a streaming load run (`connect --duration`) moved inside the measured window.
public struct StreamReport: Sendable {
    /// Numbered from 1, as messages name it.
    public var stream: Int
    public var bytesSent: Int
    public var bytesReceived: Int
    /// TCP retransmissions over the stream's life (TCP_INFO), where measured.
    public var retransmits: Int?
    public var failure: ClientFailure?

    public init(stream: Int, bytesSent: Int, bytesReceived: Int, retransmits: Int? = nil, failure: ClientFailure?) {
        self.stream = stream
        self.bytesSent = bytesSent
        self.bytesReceived = bytesReceived
        self.retransmits = retransmits
        self.failure = failure
    }
}

/// The totals of one load run (or of one worker, merged at the end).
public struct LoadReport: Sendable {
    /// Requests (search) or echoed chunks (connect) that completed and checked out.
    public var completed = 0
    /// Failures by kind.
    public var failures: [FailureKind: Int] = [:]
    public var bytesSent = 0
    public var bytesReceived = 0
    /// Wall time of the measured window.
    public var nanoseconds: UInt64 = 0
    /// Latency of each completed request or chunk round trip.
    public var latency = LatencyHistogram()
    /// The first failure (labelled with its stream or request).
    public var firstFailure: ClientFailure?
    /// The signal that ended the run early (SIGINT, SIGTERM), if one did.
    public var interruption: CInt?
    /// Each stream of a streaming run, by stream number (empty for request runs).
    public var streams: [StreamReport] = []
    /// Send-only runs: bytes the receiver confirmed by closing after our FIN, and when the last one did
    /// (from the start of the run).
    public var bytesDelivered = 0
    public var deliveredNanoseconds: UInt64 = 0

    public init() {}

    public var failureCount: Int { failures.values.reduce(0, +) }

    public mutating func merge(_ other: LoadReport) {
        completed += other.completed
        for (kind, count) in other.failures { failures[kind, default: 0] += count }
        bytesSent += other.bytesSent
        bytesReceived += other.bytesReceived
        nanoseconds = max(nanoseconds, other.nanoseconds)
        latency.merge(other.latency)
        if firstFailure == nil { firstFailure = other.firstFailure }
        if interruption == nil { interruption = other.interruption }
        streams = (streams + other.streams).sorted { $0.stream < $1.stream }
        bytesDelivered += other.bytesDelivered
        deliveredNanoseconds = max(deliveredNanoseconds, other.deliveredNanoseconds)
    }

    /// Records a failure.
    public mutating func fail(_ failure: ClientFailure) {
        failures[failure.kind, default: 0] += 1
        if firstFailure == nil { firstFailure = failure }
    }

    /// The counts by their report names, sorted: how text and JSON list them.
    private var namedFailures: [(name: String, count: Int)] {
        failures.map { ($0.key.reportName, $0.value) }.sorted { $0.name < $1.name }
    }

    private var seconds: Double { Double(max(nanoseconds, 1)) / 1e9 }

    /// Completed per second.
    public var rate: Double { Double(completed) / seconds }

    /// Received megabytes (10^6) per second.
    public var megabytesPerSecond: Double { Double(bytesReceived) / 1e6 / seconds }

    /// "p50 1.23 ms  p90 ...  p99 ...  max ..."
    public var latencyText: String {
        guard latency.count > 0 else { return "no samples" }
        return [("p50", 50.0), ("p90", 90.0), ("p99", 99.0)]
            .map { "\($0.0) \(NumberFormat.duration(nanoseconds: latency.percentile($0.1)))" }
            .joined(separator: "  ") + "  max \(NumberFormat.duration(nanoseconds: latency.maximum))"
    }

    /// "refused 3, timeout 1" or "none".
    public var failureText: String {
        failures.isEmpty ? "none" : namedFailures.map { "\($0.name) \($0.count)" }.joined(separator: ", ")
    }

    /// Latency and failure members shared by the JSON summaries.
    public var commonFields: [(String, JSONValue)] {
        var fields: [(String, JSONValue)] = [
            ("seconds", .double(seconds, decimals: 3)), ("bytes_sent", .int(bytesSent)),
            ("bytes_received", .int(bytesReceived)), ("failed", .int(failureCount)),
            ("failures", .object(namedFailures.map { JSONMember($0.name, .int($0.count)) })),
        ]
        if latency.count > 0 {
            fields += [
                ("latency_p50_us", .double(Double(latency.percentile(50)) / 1e3)),
                ("latency_p90_us", .double(Double(latency.percentile(90)) / 1e3)),
                ("latency_p99_us", .double(Double(latency.percentile(99)) / 1e3)),
                ("latency_max_us", .double(Double(latency.maximum) / 1e3)),
                ("latency_mean_us", .double(latency.mean / 1e3)),
            ]
        }
        return fields
    }
}
