// SocketRow+JSON.swift -- a `sockets` row as one NDJSON "socket" event: the same members as flood's
// socket event (proto, recv_q, send_q, local, foreign, state), plus what lsof and ss -ti add.

extension SocketRow {
    /// The members besides "event".
    public var fields: [(String, JSONValue)] {
        let socket = self.socket
        var fields: [(String, JSONValue)] = [
            ("proto", .string(socket.proto)), ("recv_q", .int(socket.receiveQueue)), ("send_q", .int(socket.sendQueue)),
            ("local", .string(socket.local)), ("foreign", .string(socket.foreign)),
            ("state", .string(socket.stateName)),
            ("inode", .int(socket.inode)), ("uid", socket.uid.map { .int($0) } ?? .null),
            ("local_port", socket.localPort.map { .int($0) } ?? .null),
            ("foreign_port", socket.foreignPort.map { .int($0) } ?? .null),
            (
                "processes",
                .array(
                    owners.map { owner in
                        .object([
                            JSONMember("command", .string(owner.command)), JSONMember("fd", .int(owner.descriptor)),
                            JSONMember("mode", .string(owner.access)), JSONMember("pid", .int(owner.pid)),
                            JSONMember("user", .string(owner.user)),
                        ])
                    }
                )
            ),
        ]
        if socket.kind != .udp && socket.state == SocketState.listen {
            fields.append(("accept_queue", .int(socket.receiveQueue)))
            fields.append(("backlog", .int(socket.sendQueue)))
        }
        if let timer = socket.timer {
            fields.append(("timer", .string(timer.name)))
            fields.append(("timer_ms", .int(timer.milliseconds)))
        }
        if let info = socket.tcpInfo, socket.state != SocketState.listen {
            var members = [
                JSONMember("bytes_acked", .int(info.bytesAcked)),
                JSONMember("bytes_in_flight", .int(SocketTable.bytesInFlight(socket))),
                JSONMember("bytes_received", .int(info.bytesReceived)), JSONMember("bytes_sent", .int(info.bytesSent)),
                JSONMember("cwnd", .int(info.congestionWindow)), JSONMember("delivery_rate", .int(info.deliveryRate)),
                JSONMember("mss", .int(info.sendMSS)), JSONMember("retransmits", .int(info.retransmittedSegments)),
                JSONMember("rtt_us", .int(info.roundTripMicroseconds)),
                JSONMember("rttvar_us", .int(info.roundTripVarianceMicroseconds)),
                JSONMember("segs_in", .int(info.segmentsIn)), JSONMember("segs_out", .int(info.segmentsOut)),
                JSONMember("total_retransmits", .int(info.totalRetransmits)),
                JSONMember("unacked", .int(info.unackedSegments)),
            ]
            if let algorithm = socket.congestionControl { members.append(JSONMember("congestion", .string(algorithm))) }
            members.sort { $0.key < $1.key }
            fields.append(("tcp_info", .object(members)))
        }
        return fields
    }
}
