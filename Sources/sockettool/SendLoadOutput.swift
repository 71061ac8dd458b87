// SendLoadOutput.swift -- `connect --send-only --duration`: one-way load, reported as iperf3 reports it
// (per-second lines, then a sender line and a receiver line).
import SocketCore

extension Connect {
    func runSendLoad(_ target: DialTarget, seconds: Seconds, log: EventLog) throws {
        DescriptorLimit.raiseToHardLimit()
        let connections = conns ?? 1
        let threads = load.threadCount
        let deadline = MonotonicClock.now() &+ seconds.asDuration.nanoseconds
        let (size, clientOptions) = (chunkSize, client.options)
        let progress = LoadProgress()
        let printer = SendProgressPrinter(log: log, streams: connections)
        let report = try runInterruptibleLoad(threads: threads, progress: progress, interval: printer.print) { index in
            let streams = (connections * index / threads)..<(connections * (index + 1) / threads)
            let options = SendLoadOptions(
                target: target,
                streams: streams,
                chunkSize: size,
                deadline: deadline,
                client: clientOptions
            )
            return SendLoadWorker(
                reactor: try Reactor(kind: try Backend.fromEnvironment()),
                options: options,
                progress: progress
            )
        }
        // The last, partial second, as iperf3 prints it (the runner's ticks are a second apart).
        if report.nanoseconds > printer.lastTime &+ 100_000_000 { printer.print(progress, elapsed: report.nanoseconds) }
        let sender = ThroughputFormat.bitsPerSecond(bytes: report.bytesSent, nanoseconds: report.nanoseconds)
        let receiver = ThroughputFormat.bitsPerSecond(
            bytes: report.bytesDelivered,
            nanoseconds: report.deliveredNanoseconds
        )
        let retransmits = report.streams.reduce(0) { $0 + ($1.retransmits ?? 0) }
        let label = printer.label
        let lines = [
            "- - - - - - - - - - - - - - - - - - - - - - - - -",
            "Send-only load against \(target.first): \(connections) connection\(connections == 1 ? "" : "s"), "
                + "\(NumberFormat.bytes(size)) writes",
            "[ ID] Interval           Transfer     Bitrate         Retr",
            Self.summaryLine(label, report.bytesSent, report.nanoseconds, sender)
                + "  \(ThroughputFormat.padded(String(retransmits), width: 4))             sender",
            Self.summaryLine(label, report.bytesDelivered, report.deliveredNanoseconds, receiver)
                + "                   receiver",
            "  failures    \(report.failureText)",
        ]
        let fields: [(String, JSONValue)] = [
            ("mode", .string("send")), ("connections", .int(connections)), ("chunk_bytes", .int(size)),
            ("mb_per_s", .double(Double(report.bytesSent) / 1e6 / (Double(max(report.nanoseconds, 1)) / 1e9))),
            ("sender_bits_per_second", .double(sender, decimals: 0)), ("retransmits", .int(retransmits)),
            ("bytes_delivered", .int(report.bytesDelivered)),
            ("receiver_seconds", .double(Double(report.deliveredNanoseconds) / 1e9)),
            ("receiver_bits_per_second", .double(receiver, decimals: 0)),
        ]
        try reportLoad(report, lines: lines, fields: fields, attempts: connections, unit: "connections", log: log) {
            let rate = ThroughputFormat.bitsPerSecond(bytes: $0.bytesSent, nanoseconds: report.nanoseconds)
            let label = "[" + ThroughputFormat.padded(String($0.stream), width: 3) + "]"
            return Self.summaryLine(label, $0.bytesSent, report.nanoseconds, rate)
                + "  \(ThroughputFormat.padded(String($0.retransmits ?? 0), width: 4))             sender"
        }
    }

    /// "[SUM]   0.00-5.00   sec  11.5 GBytes  19.8 Gbits/sec".
    private static func summaryLine(_ label: String, _ bytes: Int, _ nanoseconds: UInt64, _ rate: Double) -> String {
        "\(label) \(SendProgressPrinter.interval(from: 0, to: nanoseconds))  \(ThroughputFormat.bytes(bytes))"
            + "  \(ThroughputFormat.bitRate(rate))"
    }
}
