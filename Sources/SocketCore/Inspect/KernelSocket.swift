// KernelSocket.swift -- one socket of this machine as the kernel's tables describe it: what netstat and
// ss print per line, before the processes that hold it (lsof's side) are joined in.

/// A TCP, UDP or Unix socket from sock_diag.
public struct KernelSocket: Sendable, Equatable {
    /// The transport, as netstat names it in the Proto column (IPv6 adds a "6").
    public enum Kind: String, Sendable, CaseIterable {
        case tcp, udp
        case unixStream = "unix"
        case unixDatagram = "unix-dgram"
        case unixSeqpacket = "unix-seqpacket"

        /// True for the three Unix domain kinds.
        public var isUnix: Bool { self != .tcp && self != .udp }
    }

    public var kind: Kind
    /// IPv6 (an IPv4 connection on an IPv6 socket included); false for IPv4 and Unix.
    public var isIPv6: Bool
    /// The TCP state number, which sock_diag also uses for UDP and Unix (7, TCP_CLOSE: not connected).
    public var state: UInt8
    /// "127.0.0.1:65432", "[::1]:80", "/tmp/app.sock", "@abstract", or "*" for an unnamed Unix socket.
    public var local: String
    /// The peer, "0.0.0.0:*" for a listener, "*" for an unconnected Unix socket.
    public var foreign: String
    /// nil for Unix sockets.
    public var localPort: UInt16?
    /// nil for Unix sockets and unconnected UDP sockets and listeners.
    public var foreignPort: UInt16?
    /// netstat's Recv-Q: bytes received and not read (UDP: buffer memory in use); a listener's accept queue.
    public var receiveQueue: UInt32
    /// netstat's Send-Q: bytes sent and not acknowledged (UDP: memory in use); a listener's backlog.
    public var sendQueue: UInt32
    /// The socket's inode: the "socket:[N]" of /proc/PID/fd (0 for TIME_WAIT, which has no file).
    public var inode: UInt64
    /// The socket's owner uid (nil for Unix sockets on kernels before 5.3).
    public var uid: UInt32?
    /// TCP_INFO, when asked for (-v) and the socket is TCP.
    public var tcpInfo: KernelTCPInfo?
    /// The congestion control algorithm ("cubic"), with TCP_INFO.
    public var congestionControl: String?
    /// The kernel timer running on the socket and milliseconds until it fires (TIME_WAIT's 60 s, a
    /// retransmission, keepalive, a zero-window probe).
    public var timer: Timer?
    /// shutdown() state: 1 no more receives (a FIN arrived or SHUT_RD), 2 no more sends, 3 both.
    public var shutdown: UInt8?
    /// For a Unix socket: its peer's inode (0 or nil: none).
    public var peerInode: UInt32?

    /// The kernel's socket timers (idiag_timer).
    public enum Timer: Sendable, Equatable {
        case retransmit(milliseconds: UInt32)
        case keepalive(milliseconds: UInt32)
        case timeWait(milliseconds: UInt32)
        case zeroWindowProbe(milliseconds: UInt32)

        /// ss -o's names.
        public var name: String {
            switch self {
            case .retransmit: "on"
            case .keepalive: "keepalive"
            case .timeWait: "timewait"
            case .zeroWindowProbe: "persist"
            }
        }

        public var milliseconds: UInt32 {
            switch self {
            case .retransmit(let value), .keepalive(let value), .timeWait(let value), .zeroWindowProbe(let value):
                value
            }
        }
    }

    public init(
        kind: Kind,
        isIPv6: Bool,
        state: UInt8,
        local: String,
        foreign: String,
        localPort: UInt16? = nil,
        foreignPort: UInt16? = nil,
        receiveQueue: UInt32 = 0,
        sendQueue: UInt32 = 0,
        inode: UInt64 = 0
    ) {
        self.kind = kind
        self.isIPv6 = isIPv6
        self.state = state
        self.local = local
        self.foreign = foreign
        self.localPort = localPort
        self.foreignPort = foreignPort
        self.receiveQueue = receiveQueue
        self.sendQueue = sendQueue
        self.inode = inode
    }

    /// netstat's Proto column: tcp, tcp6, udp, udp6, unix, unix-dgram, unix-seqpacket.
    public var proto: String {
        kind.isUnix ? kind.rawValue : kind.rawValue + (isIPv6 ? "6" : "")
    }

    /// netstat's state names; UNCONN (ss's word) for UDP and Unix sockets that are not connected.
    public var stateName: String {
        if kind != .tcp && state == SocketState.closed { return "UNCONN" }
        return SocketState.name(state)
    }

    /// True for a socket waiting for connections (TCP or Unix stream LISTEN) or datagrams (unconnected
    /// UDP or Unix datagram socket): what `ss -l` and `netstat -l` list.
    public var isListening: Bool {
        switch kind {
        case .tcp, .unixStream, .unixSeqpacket: state == SocketState.listen
        case .udp, .unixDatagram: state == SocketState.closed && (localPort != 0 || kind == .unixDatagram)
        }
    }
}

/// The TCP state numbers of include/net/tcp_states.h, which sock_diag uses for every socket.
public enum SocketState {
    public static let established: UInt8 = 1
    public static let synSent: UInt8 = 2
    public static let synReceived: UInt8 = 3
    public static let finWait1: UInt8 = 4
    public static let finWait2: UInt8 = 5
    public static let timeWait: UInt8 = 6
    public static let closed: UInt8 = 7
    public static let closeWait: UInt8 = 8
    public static let lastAck: UInt8 = 9
    public static let listen: UInt8 = 10
    public static let closing: UInt8 = 11

    /// netstat's name for a state number.
    public static func name(_ state: UInt8) -> String {
        switch state {
        case 1: "ESTABLISHED"
        case 2: "SYN_SENT"
        case 3, 12: "SYN_RECV"
        case 4: "FIN_WAIT1"
        case 5: "FIN_WAIT2"
        case 6: "TIME_WAIT"
        case 7: "CLOSE"
        case 8: "CLOSE_WAIT"
        case 9: "LAST_ACK"
        case 10: "LISTEN"
        case 11: "CLOSING"
        default: "UNKNOWN(\(state))"
        }
    }

    /// The state a name means: netstat's (TIME_WAIT, FIN_WAIT1), ss's (time-wait, fin-wait-1, estab,
    /// listening, closed, unconn), in any case, with or without hyphens and underscores; nil if none.
    public static func number(named text: String) -> UInt8? {
        let key = text.uppercased().withoutSeparators()
        switch key {
        case "ESTAB": return established
        case "UNCONN", "CLOSED": return closed
        case "LISTENING": return listen
        case "SYNRECEIVED": return synReceived
        default: return (1...11).first { name(UInt8($0)).withoutSeparators() == key }.map { UInt8($0) }
        }
    }
}

extension String {
    /// "TIME-WAIT", "TIME_WAIT" and "FIN-WAIT-1" as "TIMEWAIT" and "FINWAIT1".
    fileprivate func withoutSeparators() -> String {
        String(filter { $0 != "-" && $0 != "_" })
    }
}
