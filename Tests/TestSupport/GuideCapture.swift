// GuideCapture.swift -- the guide's 13-packet tshark transcript (Troubleshooting: Wireshark) rebuilt as
// packets: the same flags, sequence numbers, windows, lengths and options as its macOS capture on lo0.

/// The guide's capture, packet by packet.
public enum GuideCapture {
    /// The client 127.0.0.1:53942, the server 127.0.0.1:65432, the ISNs, the windows (raw; both sides scale
    /// by 32), the request and response bytes of app-client.py and app-server.py.
    public static func segments(request: [UInt8], response: [UInt8]) -> [BuiltSegment] {
        precondition(request.count == 146 && response.count == 148)
        let clientISN: UInt32 = 1_000_000
        let serverISN: UInt32 = 3_000_000_000
        let ts: UInt32 = 940_533_635
        func segment(fromClient: Bool, seq: UInt32, ack: UInt32?, flags: UInt16, window: UInt16) -> BuiltSegment {
            var built = BuiltSegment()
            if !fromClient { swap(&built.source, &built.destination) }
            built.sequence = (fromClient ? clientISN : serverISN) &+ seq
            built.acknowledgment = ack.map { (fromClient ? serverISN : clientISN) &+ $0 } ?? 0
            built.flags = flags
            built.window = window
            built.options =
                flags & 0x02 != 0
                ? [2, 4, 0x3F, 0xD8, 1, 3, 3, 5, 1, 1, 8, 10] + be32(ts) + be32(flags & 0x10 != 0 ? ts : 0) + [
                    4, 2, 0, 0,
                ]
                : BuiltSegment.timestampOptions(tsval: ts, tsecr: ts)
            return built
        }
        var packets = [
            segment(fromClient: true, seq: 0, ack: nil, flags: 0x02, window: 65535),
            segment(fromClient: false, seq: 0, ack: 1, flags: 0x12, window: 65535),
            segment(fromClient: true, seq: 1, ack: 1, flags: 0x10, window: 12759),
            segment(fromClient: false, seq: 1, ack: 1, flags: 0x10, window: 12759),
            segment(fromClient: true, seq: 1, ack: 1, flags: 0x18, window: 12759),
            segment(fromClient: false, seq: 1, ack: 147, flags: 0x10, window: 12754),
            segment(fromClient: false, seq: 1, ack: 147, flags: 0x18, window: 12754),
            segment(fromClient: true, seq: 147, ack: 149, flags: 0x10, window: 12754),
            segment(fromClient: false, seq: 149, ack: 147, flags: 0x11, window: 12754),
            segment(fromClient: true, seq: 147, ack: 150, flags: 0x10, window: 12754),
            segment(fromClient: false, seq: 150, ack: 147, flags: 0x10, window: 12754),
            segment(fromClient: true, seq: 147, ack: 150, flags: 0x11, window: 12754),
            segment(fromClient: false, seq: 150, ack: 148, flags: 0x10, window: 12754),
        ]
        packets[4].payload = request
        packets[6].payload = response
        return packets
    }

    /// The transcript's fields after the ports, as the guide prints them (its tshark wrote "SACK_PERM=1",
    /// newer ones write "SACK_PERM"; its expert notes stand before the ports, here they are apart).
    public static let transcript: [(notes: [String], fields: String)] = [
        ([], "[SYN] Seq=0 Win=65535 Len=0 MSS=16344 WS=32 TSval=940533635 TSecr=0 SACK_PERM"),
        ([], "[SYN, ACK] Seq=0 Ack=1 Win=65535 Len=0 MSS=16344 WS=32 TSval=940533635 TSecr=940533635 SACK_PERM"),
        ([], "[ACK] Seq=1 Ack=1 Win=408288 Len=0 TSval=940533635 TSecr=940533635"),
        (["TCP Window Update"], "[ACK] Seq=1 Ack=1 Win=408288 Len=0 TSval=940533635 TSecr=940533635"),
        ([], "[PSH, ACK] Seq=1 Ack=1 Win=408288 Len=146 TSval=940533635 TSecr=940533635"),
        ([], "[ACK] Seq=1 Ack=147 Win=408128 Len=0 TSval=940533635 TSecr=940533635"),
        ([], "[PSH, ACK] Seq=1 Ack=147 Win=408128 Len=148 TSval=940533635 TSecr=940533635"),
        ([], "[ACK] Seq=147 Ack=149 Win=408128 Len=0 TSval=940533635 TSecr=940533635"),
        ([], "[FIN, ACK] Seq=149 Ack=147 Win=408128 Len=0 TSval=940533635 TSecr=940533635"),
        ([], "[ACK] Seq=147 Ack=150 Win=408128 Len=0 TSval=940533635 TSecr=940533635"),
        (["TCP Dup ACK 6#1"], "[ACK] Seq=150 Ack=147 Win=408128 Len=0 TSval=940533635 TSecr=940533635"),
        ([], "[FIN, ACK] Seq=147 Ack=150 Win=408128 Len=0 TSval=940533635 TSecr=940533635"),
        ([], "[ACK] Seq=150 Ack=148 Win=408128 Len=0 TSval=940533635 TSecr=940533635"),
    ]
}
