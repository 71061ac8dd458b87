// KernelTCPInfo.swift -- the kernel's struct tcp_info (linux/tcp.h) read from its bytes, whether they come
// from sock_diag (any socket of the machine) or getsockopt(TCP_INFO) (a socket of this process).
//
// The kernel only ever appends to the struct, so each field has a fixed offset; a shorter struct (an older
// kernel) leaves the newer fields 0, as getsockopt itself does.

/// What TCP knows about one connection: the numbers `ss -ti` prints.
public struct KernelTCPInfo: Sendable, Equatable {
    /// TCP state (1 = ESTABLISHED).
    public var state: UInt8
    /// Retransmissions of the current unacknowledged segment (tcpi_retransmits).
    public var retransmitsInARow: UInt8
    /// The window scale shifts this side sends with and receives with (0...14).
    public var sendWindowScale: UInt8
    public var receiveWindowScale: UInt8
    /// Retransmission timeout, microseconds.
    public var retransmitTimeoutMicroseconds: UInt32
    /// Maximum segment size for sending and as seen on receive.
    public var sendMSS: UInt32
    public var receiveMSS: UInt32
    /// Segments sent and not yet acknowledged.
    public var unackedSegments: UInt32
    /// Segments considered lost, and segments retransmitted and not yet acknowledged.
    public var lostSegments: UInt32
    public var retransmittedSegments: UInt32
    /// Milliseconds since the last data sent and received.
    public var millisecondsSinceDataSent: UInt32
    public var millisecondsSinceDataReceived: UInt32
    /// Path MTU.
    public var pathMTU: UInt32
    /// Smoothed round-trip time and its variation, microseconds.
    public var roundTripMicroseconds: UInt32
    public var roundTripVarianceMicroseconds: UInt32
    /// Slow-start threshold and congestion window, segments.
    public var slowStartThreshold: UInt32
    public var congestionWindow: UInt32
    /// The receive buffer space TCP estimates the application uses.
    public var receiveSpace: UInt32
    /// Every retransmission over the connection's life.
    public var totalRetransmits: UInt32
    /// Bytes the peer acknowledged, bytes received from the peer.
    public var bytesAcked: UInt64
    public var bytesReceived: UInt64
    /// Segments sent and received (with and without data).
    public var segmentsOut: UInt32
    public var segmentsIn: UInt32
    /// Bytes written by the application and not yet sent.
    public var notSentBytes: UInt32
    /// The smallest round-trip time seen, microseconds.
    public var minimumRoundTripMicroseconds: UInt32
    /// Segments with data received and sent.
    public var dataSegmentsIn: UInt32
    public var dataSegmentsOut: UInt32
    /// The rate of the last delivered burst, bytes per second.
    public var deliveryRate: UInt64
    /// Bytes sent (retransmissions included) and bytes retransmitted.
    public var bytesSent: UInt64
    public var bytesRetransmitted: UInt64
    /// The peer's advertised receive window, bytes.
    public var peerWindow: UInt32
    /// How many bytes of the struct the kernel gave.
    public var length: Int

    /// Reads a struct tcp_info; nil when even the first fields are missing.
    public init?(bytes: ArraySlice<UInt8>) {
        guard bytes.count >= 8 else { return nil }
        func u32(_ offset: Int) -> UInt32 { bytes.native32(at: offset) ?? 0 }
        func u64(_ offset: Int) -> UInt64 { bytes.native64(at: offset) ?? 0 }
        state = bytes.byte(at: 0) ?? 0
        retransmitsInARow = bytes.byte(at: 2) ?? 0
        // tcpi_snd_wscale : 4, tcpi_rcv_wscale : 4 share byte 6 (low nibble first on little-endian).
        let scales = bytes.byte(at: 6) ?? 0
        sendWindowScale = isLittleEndianHost ? scales & 0xF : scales >> 4
        receiveWindowScale = isLittleEndianHost ? scales >> 4 : scales & 0xF
        retransmitTimeoutMicroseconds = u32(8)
        sendMSS = u32(16)
        receiveMSS = u32(20)
        unackedSegments = u32(24)
        lostSegments = u32(32)
        retransmittedSegments = u32(36)
        millisecondsSinceDataSent = u32(44)
        millisecondsSinceDataReceived = u32(52)
        pathMTU = u32(60)
        roundTripMicroseconds = u32(68)
        roundTripVarianceMicroseconds = u32(72)
        slowStartThreshold = u32(76)
        congestionWindow = u32(80)
        receiveSpace = u32(96)
        totalRetransmits = u32(100)
        bytesAcked = u64(120)
        bytesReceived = u64(128)
        segmentsOut = u32(136)
        segmentsIn = u32(140)
        notSentBytes = u32(144)
        minimumRoundTripMicroseconds = u32(148)
        dataSegmentsIn = u32(152)
        dataSegmentsOut = u32(156)
        deliveryRate = u64(160)
        bytesSent = u64(200)
        bytesRetransmitted = u64(208)
        peerWindow = u32(228)
        length = bytes.count
    }

    /// ssthresh is "infinite" (0x7fffffff) until the first loss; ss then leaves it out.
    public var hasSlowStartThreshold: Bool { slowStartThreshold < 0x7FFF_FFFF }
}
