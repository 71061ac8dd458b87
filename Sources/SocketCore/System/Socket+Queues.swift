// Socket+Queues.swift -- what the kernel holds for a socket: the Recv-Q and Send-Q that netstat and ss show.
import CSocketShim

/// The TCP_INFO fields sockettool reports.
public struct TCPInfo: Sendable, Equatable {
    /// The TCP state (1 = ESTABLISHED; see `TCPState`).
    public var state: UInt8
    /// Smoothed round-trip time, microseconds.
    public var roundTripMicroseconds: UInt32
    /// Congestion window, in segments.
    public var congestionWindow: UInt32
    /// Maximum segment size for sending.
    public var sendMSS: UInt32
    /// Segments sent and not yet acknowledged.
    public var unackedSegments: UInt32
    /// Bytes queued and not yet sent.
    public var notSentBytes: UInt32
    /// The peer's advertised receive window, bytes (0 on kernels before 5.4).
    public var peerWindow: UInt32
    /// The receive window this side advertises, bytes.
    public var receiveSpace: UInt32
    /// Bytes the peer acknowledged.
    public var bytesAcked: UInt64
    /// Bytes received from the peer.
    public var bytesReceived: UInt64
}

extension Socket {
    /// Bytes received and not yet read by the application: netstat's Recv-Q on a connected socket.
    /// The corresponding C call is `ioctl(SIOCINQ)`.
    public func inputQueueBytes() throws(SystemError) -> Int {
        var bytes: CInt = 0
        let fd = descriptor
        _ = try retryingInterrupts("ioctl(SIOCINQ)") { st_input_queue_bytes(fd, &bytes) }
        return Int(bytes)
    }

    /// Bytes written and not yet acknowledged by the peer: netstat's Send-Q. `ioctl(SIOCOUTQ)`.
    public func outputQueueBytes() throws(SystemError) -> Int {
        var bytes: CInt = 0
        let fd = descriptor
        _ = try retryingInterrupts("ioctl(SIOCOUTQ)") { st_output_queue_bytes(fd, &bytes) }
        return Int(bytes)
    }

    /// Bytes written and not yet sent at all (the rest of Send-Q is in flight). `ioctl(SIOCOUTQNSD)`.
    public func unsentQueueBytes() throws(SystemError) -> Int {
        var bytes: CInt = 0
        let fd = descriptor
        _ = try retryingInterrupts("ioctl(SIOCOUTQNSD)") { st_unsent_queue_bytes(fd, &bytes) }
        return Int(bytes)
    }

    /// TCP_INFO. The corresponding C call is `getsockopt(IPPROTO_TCP, TCP_INFO)`.
    public func tcpInfo() throws(SystemError) -> TCPInfo {
        var raw = st_tcp_info()
        let fd = descriptor
        _ = try retryingInterrupts("getsockopt(TCP_INFO)") { st_tcp_info(fd, &raw) }
        return TCPInfo(
            state: raw.state,
            roundTripMicroseconds: raw.rtt_us,
            congestionWindow: raw.snd_cwnd,
            sendMSS: raw.snd_mss,
            unackedSegments: raw.unacked,
            notSentBytes: raw.notsent_bytes,
            peerWindow: raw.snd_wnd,
            receiveSpace: raw.rcv_space,
            bytesAcked: raw.bytes_acked,
            bytesReceived: raw.bytes_received
        )
    }
}
