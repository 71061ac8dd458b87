// FloodReport+JSON.swift -- the closing "summary" event of `flood --json`: every number of the report, in
// snake_case, null where it is not known.

extension FloodReport {
    /// The summary event's members (EventLog sorts them).
    public var fields: [(String, JSONValue)] {
        func optional(_ value: Int?) -> JSONValue { value.map { .int($0) } ?? .null }
        func optional(_ value: Double?) -> JSONValue { value.map { .double($0, decimals: 1) } ?? .null }
        func triple(_ values: [Int]?) -> JSONValue { values.map { .array($0.map { .int($0) }) } ?? .null }
        return [
            ("mode", .string(isLocalDemo ? "demo" : "client")),
            ("local", .string(local.description)),
            ("peer", .string(peer.description)),
            ("chunk", .int(chunkSize)),
            ("bytes_accepted", .int(bytesAccepted)),
            ("first_eagain_bytes", optional(firstWouldBlockBytes)),
            (
                "first_eagain_seconds",
                firstWouldBlockNanoseconds.map { .double(Double($0) / 1e9, decimals: 6) } ?? .null
            ),
            ("eagain_count", .int(wouldBlockCount)),
            ("send_q", .int(sendQueue)),
            ("unsent", .int(unsentBytes)),
            ("peer_window", optional(peerWindow)),
            ("sender_recv_q", .int(senderReceiveQueue)),
            ("recv_q", optional(receiveQueue)),
            ("receiver_send_q", optional(receiverSendQueue)),
            ("queued", optional(bytesQueued)),
            ("sndbuf", .int(sendBuffer.atEnd)),
            ("sndbuf_start", .int(sendBuffer.atStart)),
            ("sndbuf_requested", optional(sendBuffer.requested)),
            ("rcvbuf", optional(receiveBuffer?.atEnd)),
            ("rcvbuf_requested", optional(receiveBuffer?.requested)),
            ("tcp_rmem", triple(limits.tcpReceiveMemory)),
            ("tcp_wmem", triple(limits.tcpSendMemory)),
            ("rmem_max", optional(limits.receiveMaximum)),
            ("wmem_max", optional(limits.sendMaximum)),
            ("seconds", .double(seconds, decimals: 6)),
            ("stop", .string(ending.name)),
            ("quiet_period", .double(Double(quietPeriod.nanoseconds) / 1e9, decimals: 3)),
            ("drain_rate", optional(drainRate)),
            ("drained_bytes", .int(drainedBytes)),
            ("drain_rate_measured", optional(measuredDrainRate)),
            ("send_rate_after_full", optional(sendRateAfterFull)),
            ("samples", .int(samples.count)),
            ("plot", plotPath.map { .string($0) } ?? .null),
            ("explanation", .string(explanation)),
        ]
    }
}
