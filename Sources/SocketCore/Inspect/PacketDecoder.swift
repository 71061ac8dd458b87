// PacketDecoder.swift -- one captured frame taken apart: the link layer (Ethernet, Linux cooked, BSD
// loopback, raw IP), IPv4 or IPv6, then TCP or UDP. Pure and total: any bytes at all give a value or a
// reason, never a trap, which the fuzzer checks.

/// How a capture's frames begin (pcap's LINKTYPE_ numbers).
public enum LinkType: UInt32, Sendable {
    /// BSD loopback: a 4-byte address family in the host's order (macOS lo0, where the guide captured).
    case null = 0
    /// Ethernet II: what Linux's `lo` and a packet socket on it give.
    case ethernet = 1
    /// Raw IP, no link header (LINKTYPE_RAW).
    case raw = 101
    /// OpenBSD loopback: the address family in network order.
    case loop = 108
    /// Linux "cooked" capture (tcpdump -i any), v1 and v2.
    case linuxCooked = 113
    case linuxCooked2 = 276
    /// Raw IPv4 and IPv6.
    case ipv4 = 228
    case ipv6 = 229

    /// Also accepts the numbers some writers use for raw IP (12 on OpenBSD, 14).
    public init?(number: UInt32) {
        if number == 12 || number == 14 {
            self = .raw
        } else {
            self.init(rawValue: number)
        }
    }
}

/// A decoded frame.
public struct DecodedPacket: Sendable, Equatable {
    /// IPv4 or IPv6 addresses (nil when the frame carries no IP).
    public var network: Network?
    public var transport: Transport
    /// The transport's payload (TCP or UDP data), cut to what the IP length says.
    public var payload: ArraySlice<UInt8>
    /// Why decoding stopped early ("truncated TCP header"), or nil when the whole frame made sense.
    public var problem: String?

    /// The IP layer.
    public struct Network: Sendable, Equatable {
        public var isIPv6: Bool
        public var source: String
        public var destination: String
        /// IPv4 TTL or IPv6 hop limit.
        public var hopLimit: UInt8
        /// IPv4 identification (0 for IPv6).
        public var identification: UInt16
        /// The IP protocol or next header (6 TCP, 17 UDP, 1 ICMP, 58 ICMPv6).
        public var protocolNumber: UInt8
    }

    /// The transport layer.
    public enum Transport: Sendable, Equatable {
        case tcp(TCPSegment)
        case udp(sourcePort: UInt16, destinationPort: UInt16, length: UInt16)
        /// Any other protocol, or a fragment past the first (no ports in it).
        case other
    }

    /// The TCP segment, if this is one.
    public var tcp: TCPSegment? {
        if case .tcp(let segment) = transport { return segment }
        return nil
    }

    /// The ports, for TCP and UDP.
    public var ports: (source: UInt16, destination: UInt16)? {
        switch transport {
        case .tcp(let segment): (segment.sourcePort, segment.destinationPort)
        case .udp(let source, let destination, _): (source, destination)
        case .other: nil
        }
    }
}

/// Takes frames apart.
public enum PacketDecoder {
    /// Decodes one frame of a capture whose frames start as `linkType` says.
    public static func decode(_ frame: ArraySlice<UInt8>, linkType: LinkType) -> DecodedPacket {
        let empty = DecodedPacket(network: nil, transport: .other, payload: [], problem: nil)
        guard let (etherType, network) = networkLayer(frame, linkType: linkType) else {
            return with(empty, problem: "truncated \(linkType) header")
        }
        switch etherType {
        case 0x0800: return ipv4(network)
        case 0x86DD: return ipv6(network)
        default: return with(empty, problem: "not IP (EtherType 0x\(String(etherType, radix: 16)))")
        }
    }

    /// The EtherType of the network layer and its bytes.
    private static func networkLayer(_ frame: ArraySlice<UInt8>, linkType: LinkType) -> (UInt16, ArraySlice<UInt8>)? {
        switch linkType {
        case .ethernet:
            guard var type = frame.bigEndian16(at: 12) else { return nil }
            var offset = 14
            // 802.1Q / 802.1ad VLAN tags: four more bytes each.
            while type == 0x8100 || type == 0x88A8, let inner = frame.bigEndian16(at: offset + 2) {
                type = inner
                offset += 4
            }
            return (type, frame.dropFirst(offset))
        case .linuxCooked:
            guard let type = frame.bigEndian16(at: 14) else { return nil }
            return (type, frame.dropFirst(16))
        case .linuxCooked2:
            guard let type = frame.bigEndian16(at: 0) else { return nil }
            return (type, frame.dropFirst(20))
        case .null, .loop:
            guard let family = frame.bigEndian32(at: 0) else { return nil }
            // AF_INET is 2 everywhere; AF_INET6 is 24, 28 or 30 depending on the BSD. NULL writes the family in
            // the capturing host's order, which may not be ours, so either order of 2 means IPv4.
            let isIPv4 = family == 2 || (linkType == .null && family.byteSwapped == 2)
            return (isIPv4 ? 0x0800 : 0x86DD, frame.dropFirst(4))
        case .raw:
            guard let version = frame.byte(at: 0) else { return nil }
            return (version >> 4 == 6 ? 0x86DD : 0x0800, frame)
        case .ipv4: return (0x0800, frame)
        case .ipv6: return (0x86DD, frame)
        }
    }

    private static func ipv4(_ bytes: ArraySlice<UInt8>) -> DecodedPacket {
        var packet = DecodedPacket(network: nil, transport: .other, payload: [], problem: nil)
        guard let first = bytes.byte(at: 0), first >> 4 == 4, let totalLength = bytes.bigEndian16(at: 2),
            let identification = bytes.bigEndian16(at: 4), let fragment = bytes.bigEndian16(at: 6),
            let ttl = bytes.byte(at: 8), let proto = bytes.byte(at: 9), let source = bytes.bytes(at: 12, count: 4),
            let destination = bytes.bytes(at: 16, count: 4)
        else { return with(packet, problem: "truncated IPv4 header") }
        let headerLength = Int(first & 0xF) * 4
        guard headerLength >= 20, headerLength <= bytes.count else {
            return with(packet, problem: "bad IPv4 header length")
        }
        packet.network = DecodedPacket.Network(
            isIPv6: false,
            source: IPAddressText.ipv4(source),
            destination: IPAddressText.ipv4(destination),
            hopLimit: ttl,
            identification: identification,
            protocolNumber: proto
        )
        // The IP length, not the frame's, ends the packet (Ethernet pads short frames); a packet longer than
        // what was captured keeps what there is. Total length 0 means TSO on the sending host: all of it.
        let end = totalLength == 0 ? bytes.count : min(Int(totalLength), bytes.count)
        guard end >= headerLength else { return with(packet, problem: "IPv4 length shorter than its header") }
        let body = bytes.dropFirst(headerLength).prefix(end - headerLength)
        if fragment & 0x1FFF != 0 { return with(packet, problem: "IPv4 fragment") }
        return transport(body, protocolNumber: proto, into: packet)
    }

    private static func ipv6(_ bytes: ArraySlice<UInt8>) -> DecodedPacket {
        var packet = DecodedPacket(network: nil, transport: .other, payload: [], problem: nil)
        guard let first = bytes.byte(at: 0), first >> 4 == 6, let payloadLength = bytes.bigEndian16(at: 4),
            var next = bytes.byte(at: 6), let hopLimit = bytes.byte(at: 7),
            let source = bytes.bytes(at: 8, count: 16), let destination = bytes.bytes(at: 24, count: 16)
        else { return with(packet, problem: "truncated IPv6 header") }
        let end = payloadLength == 0 ? bytes.count : min(40 + Int(payloadLength), bytes.count)
        var body = bytes.dropFirst(40).prefix(max(0, end - 40))
        // Hop-by-hop, routing, fragment and destination options headers, in any number, then the transport.
        var fragmented = false
        while [0, 43, 44, 60].contains(next) {
            guard let following = body.byte(at: 0), let extra = body.byte(at: 1) else {
                return with(packet, problem: "truncated IPv6 extension header")
            }
            let length = next == 44 ? 8 : (Int(extra) + 1) * 8
            if next == 44, let offset = body.bigEndian16(at: 2), offset & 0xFFF8 != 0 { fragmented = true }
            guard body.count >= length else { return with(packet, problem: "truncated IPv6 extension header") }
            body = body.dropFirst(length)
            next = following
        }
        packet.network = DecodedPacket.Network(
            isIPv6: true,
            source: IPAddressText.ipv6(source),
            destination: IPAddressText.ipv6(destination),
            hopLimit: hopLimit,
            identification: 0,
            protocolNumber: next
        )
        if fragmented { return with(packet, problem: "IPv6 fragment") }
        return transport(body, protocolNumber: next, into: packet)
    }

    private static func transport(
        _ body: ArraySlice<UInt8>,
        protocolNumber: UInt8,
        into packet: DecodedPacket
    ) -> DecodedPacket {
        var packet = packet
        switch protocolNumber {
        case 6:
            guard let segment = TCPSegment(body) else { return with(packet, problem: "truncated TCP header") }
            packet.transport = .tcp(segment)
            packet.payload = body.dropFirst(segment.headerLength)
        case 17:
            guard let source = body.bigEndian16(at: 0), let destination = body.bigEndian16(at: 2),
                let length = body.bigEndian16(at: 4)
            else { return with(packet, problem: "truncated UDP header") }
            packet.transport = .udp(sourcePort: source, destinationPort: destination, length: length)
            packet.payload = body.dropFirst(8).prefix(max(0, Int(length) - 8))
        default:
            packet.payload = body
        }
        return packet
    }

    private static func with(_ packet: DecodedPacket, problem: String) -> DecodedPacket {
        var packet = packet
        packet.problem = problem
        return packet
    }
}
