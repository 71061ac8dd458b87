// SocketTable.swift -- the `sockets` table as text: netstat's columns, then lsof's, one line per socket
// (a socket several processes share gets one more line per holder), numbers plain so they compare with
// `ss -tan` and `lsof -i -n` at a glance.

/// Renders rows as lines.
public enum SocketTable {
    /// The header, one line per row (and per extra holder), and with `verbose` a detail line under each
    /// TCP connection (TCP_INFO), listener (accept queue) and socket with a running timer.
    public static func lines(_ rows: [SocketRow], verbose: Bool) -> [String] {
        let headers = [
            "Proto", "Recv-Q", "Send-Q", "Local Address", "Foreign Address", "State", "COMMAND", "PID", "USER", "FD",
        ]
        var cells: [[String]] = []
        var details: [Int: String] = [:]
        for row in rows {
            let socket = row.socket
            var first = [
                socket.proto, String(socket.receiveQueue), String(socket.sendQueue), socket.local, socket.foreign,
                socket.stateName,
            ]
            first += row.owners.first.map(ownerCells) ?? ["", "", "", ""]
            cells.append(first)
            for owner in row.owners.dropFirst() { cells.append(["", "", "", "", "", ""] + ownerCells(owner)) }
            if verbose, let detail = detail(socket) { details[cells.count - 1] = detail }
        }
        var widths = headers.map(\.count)
        widths[3] = max(widths[3], 22)
        widths[4] = max(widths[4], 22)
        widths[5] = max(widths[5], 11)
        for line in cells { for (index, cell) in line.enumerated() { widths[index] = max(widths[index], cell.count) } }
        // Queues and PID are right-aligned, as netstat and lsof align them.
        let rightAligned: Set<Int> = [1, 2, 7]
        func render(_ line: [String]) -> String {
            var text = ""
            for (index, cell) in line.enumerated() {
                if index > 0 { text += " " }
                let padding = String(repeating: " ", count: widths[index] - cell.count)
                text += rightAligned.contains(index) ? padding + cell : cell + padding
            }
            while text.last == " " { text.removeLast() }
            return text
        }
        var output = [render(headers)]
        for (index, line) in cells.enumerated() {
            output.append(render(line))
            if let detail = details[index] { output.append("      " + detail) }
        }
        return output
    }

    /// What a learner needs to read the queues of a listener, printed once under a table that has one.
    public static let listenerNote =
        "LISTEN: Recv-Q is the accept queue (connections the kernel completed, waiting for accept()), "
        + "Send-Q the backlog (listen()'s argument, capped by net.core.somaxconn), as ss shows them."

    private static func ownerCells(_ owner: SocketOwner) -> [String] {
        [owner.command, String(owner.pid), owner.user, owner.fdColumn]
    }

    /// The -v line: TCP_INFO for a connection (`ss -ti`'s numbers), the queue for a listener, the timer.
    static func detail(_ socket: KernelSocket) -> String? {
        var parts: [String] = []
        if socket.kind != .udp && socket.state == SocketState.listen {
            parts.append("accept queue \(socket.receiveQueue) of \(socket.sendQueue)")
        }
        if let info = socket.tcpInfo, socket.state != SocketState.listen {
            parts.append(
                "rtt \(milliseconds(info.roundTripMicroseconds))/\(milliseconds(info.roundTripVarianceMicroseconds)) ms"
            )
            parts.append("cwnd \(info.congestionWindow)")
            if info.hasSlowStartThreshold { parts.append("ssthresh \(info.slowStartThreshold)") }
            parts.append("retransmits \(info.retransmittedSegments)/\(info.totalRetransmits)")
            parts.append("in flight \(bytesInFlight(socket)) B (\(info.unackedSegments) segments)")
            parts.append("mss \(info.sendMSS)")
            parts.append("sent \(info.bytesSent) B, acked \(info.bytesAcked) B, received \(info.bytesReceived) B")
            parts.append("segments out \(info.segmentsOut) in \(info.segmentsIn)")
            if info.deliveryRate > 0 {
                parts.append("delivery \(NumberFormat.bytes(Int(clamping: info.deliveryRate)))/s")
            }
            if let algorithm = socket.congestionControl, !algorithm.isEmpty { parts.append(algorithm) }
        }
        if let timer = socket.timer {
            parts.append("timer \(timer.name) \(NumberFormat.fixed(Double(timer.milliseconds) / 1000, decimals: 1)) s")
        }
        return parts.isEmpty ? nil : parts.joined(separator: " · ")
    }

    /// Bytes sent and not acknowledged: the Send-Q less what was never sent.
    static func bytesInFlight(_ socket: KernelSocket) -> UInt32 {
        let unsent = socket.tcpInfo?.notSentBytes ?? 0
        return socket.sendQueue > unsent ? socket.sendQueue - unsent : 0
    }

    /// Microseconds as milliseconds with up to three decimals ("0.034", "12.5"), as ss prints them.
    static func milliseconds(_ microseconds: UInt32) -> String {
        var text = NumberFormat.fixed(Double(microseconds) / 1000, decimals: 3)
        while text.hasSuffix("0") { text.removeLast() }
        if text.hasSuffix(".") { text.removeLast() }
        return text
    }
}
