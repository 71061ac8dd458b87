// EventLog+Discard.swift -- the line `serve discard` prints for each connection it closes: the receiver's
// side of a one-way throughput run.

extension EventLog {
    /// "Discarded 1,685,123,456 bytes (1.57 GBytes) from 127.0.0.1:33428 in 2.001 s: 6.72 Gbits/sec"; -v
    /// adds how many reads brought them. The JSON event ("totals") always carries every count.
    func discardTotals(_ totals: DiscardTotals, peer: String) {
        guard wants(.normal) else { return }
        let rate = ThroughputFormat.bitsPerSecond(bytes: totals.bytes, nanoseconds: totals.nanoseconds)
        event(
            "totals",
            text: discardText(totals, rate: rate, peer: peer),
            fields: [
                ("peer", .string(peer)), ("bytes", .int(totals.bytes)), ("reads", .int(totals.reads)),
                ("seconds", .double(Double(totals.nanoseconds) / 1e9, decimals: 6)),
                ("bits_per_second", .double(rate, decimals: 0)),
            ]
        )
    }

    private func discardText(_ totals: DiscardTotals, rate: Double, peer: String) -> String {
        var text = "Discarded \(NumberFormat.grouped(totals.bytes)) bytes"
        if totals.bytes >= 1024 { text += " (\(ThroughputFormat.bytes(totals.bytes)))" }
        text += " from \(peer) in \(NumberFormat.fixed(Double(totals.nanoseconds) / 1e9, decimals: 3)) s"
        text += ": " + ThroughputFormat.bitRate(rate).drop { $0 == " " }
        if verbosity >= .verbose {
            text += ", \(NumberFormat.grouped(totals.reads)) read\(totals.reads == 1 ? "" : "s")"
            if totals.reads > 0 { text += " of \(NumberFormat.bytes(totals.bytes / totals.reads)) on average" }
        }
        return text
    }
}
