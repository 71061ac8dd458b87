// QueueTable.swift -- the netstat-like table the experiment ends with (Proto Recv-Q Send-Q Local Address
// Foreign Address State), read from the kernel: the same numbers `ss -tn` and `netstat -tn` show.

/// One socket's line.
public struct QueueTableRow: Sendable, Equatable {
    /// "tcp" or "tcp6", as netstat prints it.
    public var proto: String
    /// Bytes received and not yet read by the application (SIOCINQ; rx_queue in /proc/net/tcp).
    public var receiveQueue: Int
    /// Bytes written and not yet acknowledged by the peer (SIOCOUTQ; tx_queue).
    public var sendQueue: Int
    /// `host:port` of this end.
    public var local: String
    /// `host:port` of the other end.
    public var foreign: String
    /// ESTABLISHED, CLOSE_WAIT, ...
    public var state: String
    /// Which end this is, for a learner: "receiver (never reads)", "sender (this process)".
    public var role: String

    public init(
        proto: String,
        receiveQueue: Int,
        sendQueue: Int,
        local: String,
        foreign: String,
        state: String,
        role: String
    ) {
        self.proto = proto
        self.receiveQueue = receiveQueue
        self.sendQueue = sendQueue
        self.local = local
        self.foreign = foreign
        self.state = state
        self.role = role
    }

    /// Reads a socket of this process: its queues through ioctl, its state through TCP_INFO.
    ///
    /// - Throws: `SystemError` from getsockname/getpeername/ioctl/getsockopt (e.g. ENOTCONN after a reset).
    public static func read(_ socket: Socket, role: String) throws(SystemError) -> QueueTableRow {
        let local = try socket.localAddress()
        let peer = try socket.peerAddress()
        return QueueTableRow(
            proto: socket.isIPv6 ? "tcp6" : "tcp",
            receiveQueue: try socket.inputQueueBytes(),
            sendQueue: try socket.outputQueueBytes(),
            local: local.description,
            foreign: peer.description,
            state: KernelTCPTable.stateName(try socket.tcpInfo().state),
            role: role
        )
    }

    /// A socket of another process, from the kernel's table.
    public init(entry: KernelSocketEntry, local: SocketAddress, foreign: SocketAddress, role: String) {
        self.init(
            proto: entry.isIPv6Table ? "tcp6" : "tcp",
            receiveQueue: entry.receiveQueue,
            sendQueue: entry.sendQueue,
            local: local.description,
            foreign: foreign.description,
            state: KernelTCPTable.stateName(entry.state),
            role: role
        )
    }

    /// The JSON "socket" event's members.
    public var fields: [(String, JSONValue)] {
        [
            ("proto", .string(proto)), ("recv_q", .int(receiveQueue)), ("send_q", .int(sendQueue)),
            ("local", .string(local)), ("foreign", .string(foreign)), ("state", .string(state)),
            ("role", .string(role)),
        ]
    }
}

/// Renders rows as netstat does: plain numbers (no separators, so they compare with `ss` at a glance),
/// right-aligned queues, left-aligned addresses.
public enum QueueTable {
    /// The header and one line per row.
    public static func lines(_ rows: [QueueTableRow]) -> [String] {
        let receiveWidth = max(6, rows.map { String($0.receiveQueue).count }.max() ?? 0)
        let sendWidth = max(6, rows.map { String($0.sendQueue).count }.max() ?? 0)
        let localWidth = max(22, rows.map { $0.local.count }.max() ?? 0)
        let foreignWidth = max(22, rows.map { $0.foreign.count }.max() ?? 0)
        let stateWidth = 11
        func line(_ cells: (String, String, String, String, String, String, String)) -> String {
            var text = cells.0.padded(to: 5) + " " + cells.1.rightAligned(to: receiveWidth) + " "
            text += cells.2.rightAligned(to: sendWidth) + " " + cells.3.padded(to: localWidth) + " "
            text += cells.4.padded(to: foreignWidth) + " " + cells.5.padded(to: stateWidth)
            if !cells.6.isEmpty { text += " " + cells.6 }
            return text.trailingSpacesRemoved()
        }
        var output = [line(("Proto", "Recv-Q", "Send-Q", "Local Address", "Foreign Address", "State", ""))]
        for row in rows {
            output.append(
                line(
                    (
                        row.proto, String(row.receiveQueue), String(row.sendQueue), row.local, row.foreign, row.state,
                        row.role
                    )
                )
            )
        }
        return output
    }
}

extension String {
    /// Left-aligned in `width` columns.
    fileprivate func padded(to width: Int) -> String {
        count >= width ? self : self + String(repeating: " ", count: width - count)
    }

    /// Right-aligned in `width` columns.
    fileprivate func rightAligned(to width: Int) -> String {
        count >= width ? self : String(repeating: " ", count: width - count) + self
    }

    /// Without spaces at the end.
    fileprivate func trailingSpacesRemoved() -> String {
        var text = self
        while text.last == " " { text.removeLast() }
        return text
    }
}
