// TCPCloseSummary.swift -- the -v line a server or client prints when a connection closes: the kernel's
// TCP_INFO for it (the numbers `ss -ti` shows) and who closed first, so which side keeps TIME_WAIT.

/// Which end of a connection this process is.
public enum ConnectionSide: String, Sendable {
    case server, client

    var other: ConnectionSide { self == .server ? .client : .server }
}

/// Who closed first, read from the TCP state just before this side's close().
public enum CloseOrder: Sendable, Equatable {
    /// This side closes (or already shut down) while the peer had not: this side keeps TIME_WAIT.
    case thisSide
    /// The peer's FIN came first: the peer keeps TIME_WAIT.
    case peer
    /// Both FINs crossed (CLOSING): both sides pass through TIME_WAIT.
    case both
    /// Already closed before this side's close() (CLOSE): both FINs were exchanged (a half-closed relay; the
    /// TIME_WAIT then lives in a separate kernel entry) or a reset came. The state cannot tell which side
    /// was first.
    case alreadyClosed
    /// A state that says nothing about it.
    case unknown

    /// The order a socket in `state` closes in.
    public init(state: UInt8) {
        switch state {
        case SocketState.established, SocketState.finWait1, SocketState.finWait2, SocketState.timeWait:
            self = .thisSide
        case SocketState.closeWait, SocketState.lastAck: self = .peer
        case SocketState.closing: self = .both
        case SocketState.closed: self = .alreadyClosed
        default: self = .unknown
        }
    }
}

/// One connection's TCP_INFO at close, as a line and as JSON fields.
public struct TCPCloseSummary: Sendable {
    public var info: KernelTCPInfo
    public var side: ConnectionSide
    public var peer: String
    /// The state once this side's FIN was out, when `info` was read in ESTABLISHED (see `TCPInfoAtClose`).
    public var stateAfterFIN: UInt8?

    public init(info: KernelTCPInfo, side: ConnectionSide, peer: String, stateAfterFIN: UInt8? = nil) {
        self.info = info
        self.side = side
        self.peer = peer
        self.stateAfterFIN = stateAfterFIN
    }

    public var order: CloseOrder { CloseOrder(state: stateAfterFIN ?? info.state) }

    /// Payload bytes received: tcpi_bytes_received counts the peer's FIN too, once it came (its sequence
    /// number is one more byte).
    public var bytesReceived: UInt64 {
        let finReceived = [SocketState.closeWait, SocketState.lastAck, SocketState.closing, SocketState.timeWait]
            .contains(info.state)
        return finReceived && info.bytesReceived > 0 ? info.bytesReceived - 1 : info.bytesReceived
    }

    /// True when the numbers were read in CLOSE, where tcpi_bytes_received may or may not count a FIN. Read in
    /// ESTABLISHED (and CLOSE only after this side's FIN, `stateAfterFIN`), they count none.
    private var finMayBeCounted: Bool { info.state == SocketState.closed }

    /// Who closed first, in the JSON's words: "server", "client", "both" or "unknown".
    public var closedFirst: String {
        switch order {
        case .thisSide: side.rawValue
        case .peer: side.other.rawValue
        case .both: "both"
        case .alreadyClosed, .unknown: "unknown"
        }
    }

    /// "TCP_INFO 127.0.0.1:54490: rtt 0.05 ms, 6 segments out, 5 in, 0 retransmits, 44 B sent, 44 B received,
    /// delivery rate 2.1 MiB/s; the client closed first, so the client keeps TIME_WAIT"
    public var text: String {
        let rate = NumberFormat.bytes(Int(clamping: info.deliveryRate)) + "/s"
        return "TCP_INFO \(peer): rtt \(SocketTable.milliseconds(info.roundTripMicroseconds)) ms, "
            + "\(NumberFormat.grouped(Int(info.segmentsOut))) segments out, \(NumberFormat.grouped(Int(info.segmentsIn))) in, "
            + "\(info.totalRetransmits) retransmits, \(NumberFormat.grouped(Int(clamping: info.bytesSent))) B sent, "
            + "\(NumberFormat.grouped(Int(clamping: bytesReceived))) B received\(finMayBeCounted ? " (a FIN counts as one)" : ""), "
            + "delivery rate \(rate); "
            + closingText
    }

    private var closingText: String {
        switch order {
        case .thisSide: "the \(side.rawValue) closed first, so the \(side.rawValue) keeps TIME_WAIT"
        case .peer: "the \(side.other.rawValue) closed first, so the \(side.other.rawValue) keeps TIME_WAIT"
        case .both: "both closed at once, so both pass through TIME_WAIT"
        case .alreadyClosed where stateAfterFIN != nil:
            // FIN-WAIT or CLOSING would have been next; CLOSE at once is a reset, or a TIME_WAIT the kernel
            // had no room for (net.ipv4.tcp_max_tw_buckets; nstat's TcpExtTCPTimeWaitOverflow counts them).
            "the connection was over as this side's FIN went out (a reset, or the kernel's TIME_WAIT table was "
                + "full): 'ss -tan state time-wait' shows whether the peer keeps one"
        case .alreadyClosed:
            "both sides had closed (or a reset came) before this close(): 'ss -tan state time-wait' shows who keeps TIME_WAIT"
        case .unknown: "state \(SocketState.name(info.state)) at close"
        }
    }

    public var fields: [(String, JSONValue)] {
        [
            ("peer", .string(peer)), ("side", .string(side.rawValue)), ("state", .string(SocketState.name(info.state))),
            ("rtt_us", .int(Int(info.roundTripMicroseconds))), ("segments_out", .int(Int(info.segmentsOut))),
            ("segments_in", .int(Int(info.segmentsIn))), ("retransmits", .int(Int(info.totalRetransmits))),
            ("bytes_sent", .int(Int(clamping: info.bytesSent))),
            ("bytes_received", .int(Int(clamping: bytesReceived))),
            ("delivery_rate_bytes_per_s", .int(Int(clamping: info.deliveryRate))),
            ("closed_first", .string(closedFirst)),
        ]
    }
}

/// TCP_INFO read just before close(), and who closed first.
///
/// Read in ESTABLISHED, the state cannot say who closed first: the peer's FIN may arrive between this read
/// and the close() (then this side ends in LAST-ACK and the peer keeps the TIME_WAIT). So this side's FIN
/// goes out first (`shutdown(SHUT_WR)`, what the close() would send a moment later) and the state after it
/// decides: FIN-WAIT, this side was first; LAST-ACK, the peer was; CLOSING, both. Only with nothing left
/// unread: a close() over unread bytes sends a reset, not a FIN, and must stay so.
public struct TCPInfoAtClose: Sendable {
    /// The numbers, read before this side's FIN.
    public var info: KernelTCPInfo
    /// The state once this side's FIN was out, when `info` was read in ESTABLISHED.
    public var stateAfterFIN: UInt8?

    /// Nil for a socket that is not TCP (a Unix socket) or is gone. Sends this side's FIN (see above).
    public init?(of socket: Socket) {
        guard let info = KernelTCPInfo(of: socket) else { return nil }
        self.info = info
        if info.state == SocketState.established, (try? socket.inputQueueBytes()) == 0,
            (try? socket.shutdown(.write)) != nil
        {
            stateAfterFIN = KernelTCPInfo(of: socket)?.state
        }
    }
}

extension KernelTCPInfo {
    /// TCP_INFO of a socket of this process; nil for a socket that is not TCP (a Unix socket) or is gone.
    public init?(of socket: Socket) {
        guard let bytes = try? socket.tcpInfoBytes() else { return nil }
        self.init(bytes: bytes[...])
    }
}

extension EventLog {
    /// The -v line at close (see `TCPCloseSummary`); nothing for a non-TCP socket.
    public func tcpSummary(_ atClose: TCPInfoAtClose?, side: ConnectionSide, peer: String) {
        guard wants(.verbose), let atClose else { return }
        let summary = TCPCloseSummary(info: atClose.info, side: side, peer: peer, stateAfterFIN: atClose.stateAfterFIN)
        event("tcp_info", level: .verbose, text: summary.text, fields: summary.fields)
    }

    /// The -v line for `socket`, read now (`TCPInfoAtClose`): call it just before close().
    public func tcpSummary(of socket: Socket, side: ConnectionSide, peer: @autoclosure () -> String) {
        guard wants(.verbose) else { return }
        tcpSummary(TCPInfoAtClose(of: socket), side: side, peer: peer())
    }
}
