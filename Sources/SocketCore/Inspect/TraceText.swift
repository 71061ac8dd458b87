// TraceText.swift -- a traced packet as one line in tshark's shape, the guide's frames decoded under it,
// and the capture's ending: who sent the first FIN, and so which side keeps TIME_WAIT.

/// The text of `trace`.
public enum TraceText {
    /// "    4 0.000604 127.0.0.1:59346 → 127.0.0.1:34729 TCP 212 [PSH, ACK] Seq=1 Ack=1 Win=65536 Len=146
    /// TSval=323537340 TSecr=3179476419", then the frames it completed, indented.
    public static func lines(_ packet: TracedPacket) -> [String] {
        var line = String(repeating: " ", count: max(0, 5 - String(packet.number).count)) + String(packet.number)
        line += " " + NumberFormat.fixed(packet.relativeTime, decimals: 6)
        line += " \(packet.source) → \(packet.destination) \(packet.protocolName) \(packet.wireLength)"
        if let tcp = packet.tcp {
            for note in tcp.analysis { line += " [\(note)]" }
            line += " [\(tcp.flags.names.joined(separator: ", "))]"
            line += " Seq=\(tcp.relativeSequence)"
            if let ack = tcp.relativeAcknowledgment { line += " Ack=\(ack)" }
            line += " Win=\(tcp.window) Len=\(tcp.length)"
            for option in tcp.options { line += " " + option }
        } else if let length = packet.udpLength {
            line += " Len=\(length)"
        }
        if let problem = packet.problem { line += " (\(problem))" }
        var lines = [line]
        for frame in packet.frames { lines += frameLines(frame, packet: packet.number) }
        if let problem = packet.frameProblem { lines.append("      app: \(problem)") }
        return lines
    }

    /// The three parts of a message: the 2-byte length, the JSON header, the content.
    static func frameLines(_ frame: AppFrame, packet: Int) -> [String] {
        let packets = frame.firstPacket == packet ? "" : " (packets \(frame.firstPacket)-\(packet))"
        let prefix = [UInt8(frame.headerLength >> 8), UInt8(frame.headerLength & 0xFF)]
        let content =
            frame.header.isJSON
            ? ByteNotation.escapeForLog(String(decoding: frame.content, as: UTF8.self), limit: 300)
            : ByteNotation.format(frame.content, limit: 100)
        return [
            "      app \(frame.role.rawValue)\(packets), \(frame.totalLength) B = 2 + \(frame.headerLength) + "
                + "\(frame.content.count): \(frame.meaning)",
            "        length  \(ByteNotation.format(prefix)) = \(frame.headerLength)",
            "        header  " + ByteNotation.escapeForLog(frame.headerText, limit: 300),
            "        content " + content,
        ]
    }

    /// What a capture ends with: the count, drops, and for each connection how it closed.
    public static func summary(_ analyzer: TraceAnalyzer, dropped: Int) -> [String] {
        let count = analyzer.packetCount
        var lines = ["\(count) packet\(count == 1 ? "" : "s") captured"]
        if dropped > 0 { lines.append("\(dropped) packets dropped by the kernel (the capture could not keep up)") }
        for connection in analyzer.connections {
            let span = connection.packets.first.map { "packets \($0)-\(connection.packets.last ?? $0)" } ?? ""
            lines.append("\(connection.client) → \(connection.server) (\(span)): " + closing(connection))
        }
        return lines
    }

    /// How one connection ended, in the guide's terms.
    static func closing(_ connection: TracedConnection) -> String {
        if let reset = connection.reset {
            return "\(connection.side(reset.fromClient)) reset it (RST, packet \(reset.packet)): "
                + "no TIME_WAIT on either side."
        }
        guard let first = connection.firstFin else { return "still open when the capture ended." }
        let closer = connection.side(first.fromClient)
        let other = connection.side(!first.fromClient)
        guard let second = connection.secondFin else {
            return "\(closer) sent the first FIN (packet \(first.packet)); \(other) has not closed yet (CLOSE_WAIT)."
        }
        if connection.simultaneousClose {
            return "both sides sent a FIN before receiving the other's (packets \(first.packet) and \(second.packet)): "
                + "a simultaneous close, and both keep TIME_WAIT for 60 s."
        }
        return "\(closer) sent the first FIN (packet \(first.packet)): it closed first, so it keeps TIME_WAIT "
            + "for 60 s; \(other) answered with its FIN from CLOSE_WAIT (packet \(second.packet))."
    }
}
