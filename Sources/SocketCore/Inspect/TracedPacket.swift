// TracedPacket.swift -- one packet of a capture as `trace` shows it: tshark's fields (number, relative
// time, addresses, flags, relative Seq/Ack, Win, Len, options) and the app-protocol frames it completed.

/// A packet, analysed in the context of the packets before it.
public struct TracedPacket: Sendable, Equatable {
    /// 1 for the first packet of the capture.
    public var number: Int
    /// Seconds since the first packet.
    public var relativeTime: Double
    /// The frame's length on the wire (tshark's second number).
    public var wireLength: Int
    /// "127.0.0.1:59346", "[::1]:65432"; without the port for neither TCP nor UDP.
    public var source: String
    public var destination: String
    /// "TCP", "UDP", "ICMP", "IPv4", "IPv6" or "?".
    public var protocolName: String
    public var tcp: TCPView?
    /// The UDP payload's length.
    public var udpLength: Int?
    /// Messages of the guide's protocol this segment completed (usually the one it carries).
    public var frames: [AppFrame] = []
    /// Why the payload stopped being read as the guide's protocol, said once, on the packet where it did.
    public var frameProblem: String?
    /// The connection (index into `TraceAnalyzer.connections`) for TCP.
    public var connection: Int?
    /// True when the client (the side that sent the SYN, or the one not on the server port) sent it.
    public var fromClient: Bool?
    /// What could not be decoded.
    public var problem: String?

    /// The TCP fields, relative to the connection's start as tshark shows them.
    public struct TCPView: Sendable, Equatable {
        public var flags: TCPSegment.Flags
        public var relativeSequence: UInt32
        /// nil without the ACK flag.
        public var relativeAcknowledgment: UInt32?
        /// The window, multiplied by the sender's window scale once both SYNs agreed on scaling.
        public var window: Int
        /// Payload bytes.
        public var length: Int
        /// "MSS=65495", "SACK_PERM", "TSval=...", "TSecr=...", "WS=1024", "SACK=1-147", in the packet's order.
        public var options: [String]
        /// tshark's expert notes: "TCP Retransmission", "TCP Window Update", "TCP Dup ACK 6#1", ...
        public var analysis: [String]
    }
}

/// One message of the guide's app protocol, reassembled from the stream.
public struct AppFrame: Sendable, Equatable {
    /// Who sent it.
    public enum Role: String, Sendable {
        case request, response
        /// Direction unknown (the capture began after the handshake and no server port was given).
        case message
    }

    public var role: Role
    /// 2 + header + content bytes.
    public var totalLength: Int
    public var headerLength: Int
    public var header: FrameHeader
    /// The JSON header as it was sent.
    public var headerText: String
    public var content: [UInt8]
    /// The packet its first byte arrived in.
    public var firstPacket: Int

    /// What it means, in a few words: "search morpheus", "result: Follow the white rabbit. 🐰", "binary 12 B".
    public var meaning: String {
        guard header.isJSON, let value = try? JSONParser.parse(content) else {
            return "\(header.contentType) \(content.count) B"
        }
        if let action = value["action"] {
            return ByteNotation.escapeForLog(
                PythonRepr.str(action) + " " + PythonRepr.str(value["value"] ?? .null),
                limit: 60
            )
        }
        if let result = value["result"] {
            return "result: " + ByteNotation.escapeForLog(PythonRepr.str(result), limit: 60)
        }
        return ByteNotation.escapeForLog(PythonRepr.repr(value), limit: 60)
    }
}

/// One TCP connection seen in a capture.
public struct TracedConnection: Sendable, Equatable {
    /// The side that opened it (sent the SYN), or the side not on the server port when the capture began
    /// later; nil when neither tells.
    public var client: String
    public var server: String
    /// False when the capture began after the SYN (client and server are then a guess from the ports).
    public var sawHandshake: Bool
    /// The packets of this connection, in order.
    public var packets: [Int] = []
    /// The first and second FIN: packet number and whether the client sent it.
    public var firstFin: (packet: Int, fromClient: Bool)?
    public var secondFin: (packet: Int, fromClient: Bool)?
    /// True when the second FIN was sent before its sender had the first one (both sides close at once).
    public var simultaneousClose = false
    /// The first RST: packet number and sender.
    public var reset: (packet: Int, fromClient: Bool)?

    public static func == (lhs: TracedConnection, rhs: TracedConnection) -> Bool {
        lhs.client == rhs.client && lhs.server == rhs.server && lhs.packets == rhs.packets
            && lhs.firstFin?.packet == rhs.firstFin?.packet && lhs.secondFin?.packet == rhs.secondFin?.packet
            && lhs.reset?.packet == rhs.reset?.packet && lhs.simultaneousClose == rhs.simultaneousClose
    }

    /// Which sides keep TIME_WAIT: the one that sent the first FIN, both after a simultaneous close, none
    /// after a reset (or before both FINs were seen).
    public var timeWaitSides: [Bool] {
        guard reset == nil, let first = firstFin else { return [] }
        return simultaneousClose ? [true, false] : [first.fromClient]
    }

    /// "client" or "server", with its address.
    public func side(_ fromClient: Bool) -> String {
        fromClient ? "the client (\(client))" : "the server (\(server))"
    }
}
