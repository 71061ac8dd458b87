// TraceAnalyzer.swift -- packets in capture order in, packets as tshark shows them out: relative sequence
// numbers per direction, the scaled window, tshark's expert notes, the guide's app-protocol frames
// reassembled from each direction's bytes, and who closed first. Pure: the live capture and a pcap file
// feed it the same way.

/// Follows the TCP connections of a capture.
public struct TraceAnalyzer: Sendable {
    /// A port the caller knows is the server's (trace --port): decides client and server for connections
    /// whose handshake the capture did not see.
    public let serverPort: UInt16?
    public private(set) var connections: [TracedConnection] = []
    public private(set) var packetCount = 0
    /// Kernel timestamps in nanoseconds since the epoch; the first packet's is time 0.
    private var firstTimestamp: Int64?
    private var connectionIndex: [String: Int] = [:]
    /// Per connection, the two directions: index 0 from the client, 1 from the server.
    private var flows: [[Flow]] = []

    public init(serverPort: UInt16? = nil) {
        self.serverPort = serverPort
    }

    /// What one direction of a connection has sent so far.
    private struct Flow: Sendable {
        /// tshark's base: the ISN (from the SYN), or the first sequence number seen less one.
        var base: UInt32?
        /// One past the highest sequence number sent (SYN and FIN count one each).
        var next: UInt32?
        var lastAck: UInt32?
        /// The packet whose ack the next duplicate repeats, and how many duplicates so far.
        var lastAckPacket = 0
        var duplicates = 0
        /// The last window, scaled.
        var lastWindow: Int?
        /// The window scale shift its SYN offered; nil when it offered none or the SYN was not seen.
        var shift: UInt8?
        /// The next byte the frame decoder wants; nil until data arrives.
        var streamNext: UInt32?
        var decoder = FrameDecoder(maximumContentLength: 1 << 24)
        var decodingStopped = false
        var framesDecoded = 0
        /// The bytes fed to the decoder and not yet part of a returned frame: where a frame's header is
        /// read back exactly as it was sent.
        var pending: [UInt8] = []
        /// Where the frame being assembled began.
        var frameStart: Int?
    }

    /// Analyses the next packet of the capture.
    ///
    /// - Parameters:
    ///   - frame: The captured bytes, from the link header on.
    ///   - wireLength: The frame's length on the wire (more than `frame.count` if the capture cut it).
    ///   - timestamp: Nanoseconds since the epoch.
    public mutating func add(
        _ frame: ArraySlice<UInt8>,
        linkType: LinkType,
        wireLength: Int,
        timestamp: Int64
    )
        -> TracedPacket
    {
        packetCount += 1
        let start = firstTimestamp ?? timestamp
        firstTimestamp = start
        let decoded = PacketDecoder.decode(frame, linkType: linkType)
        var packet = TracedPacket(
            number: packetCount,
            relativeTime: Double(timestamp - start) / 1e9,
            wireLength: wireLength,
            source: decoded.network?.source ?? "?",
            destination: decoded.network?.destination ?? "?",
            protocolName: Self.protocolName(decoded)
        )
        packet.problem = decoded.problem
        if let network = decoded.network, let ports = decoded.ports {
            packet.source = IPAddressText.endpoint(network.source, isIPv6: network.isIPv6, port: ports.source)
            packet.destination = IPAddressText.endpoint(
                network.destination,
                isIPv6: network.isIPv6,
                port: ports.destination
            )
        }
        switch decoded.transport {
        case .tcp(let segment): follow(segment, payload: decoded.payload, into: &packet)
        case .udp: packet.udpLength = decoded.payload.count
        case .other: break
        }
        return packet
    }

    private static func protocolName(_ packet: DecodedPacket) -> String {
        switch packet.transport {
        case .tcp: return "TCP"
        case .udp: return "UDP"
        case .other:
            guard let network = packet.network else { return "?" }
            if network.protocolNumber == 1 || network.protocolNumber == 58 { return network.isIPv6 ? "ICMPv6" : "ICMP" }
            return network.isIPv6 ? "IPv6" : "IPv4"
        }
    }

    // MARK: - TCP

    private mutating func follow(_ segment: TCPSegment, payload: ArraySlice<UInt8>, into packet: inout TracedPacket) {
        let (index, fromClient) = connection(for: packet, segment: segment)
        packet.connection = index
        packet.fromClient = fromClient
        connections[index].packets.append(packet.number)
        let forward = fromClient ? 0 : 1
        let flags = segment.flags
        var flow = flows[index][forward]
        var reverse = flows[index][1 - forward]
        let length = payload.count
        let isSYN = flags.contains(.syn)

        if flow.base == nil { flow.base = isSYN ? segment.sequence : segment.sequence &- 1 }
        if flags.contains(.ack), reverse.base == nil { reverse.base = segment.acknowledgment &- 1 }
        if isSYN { flow.shift = segment.windowScaleShift }
        // Scaling applies once both SYNs offered it (RFC 7323), and never to a SYN's own window.
        let shift = !isSYN && reverse.shift != nil ? flow.shift ?? 0 : 0
        let window = Int(segment.window) << Int(shift)

        var analysis: [String] = []
        let control = flags.intersection([.syn, .fin, .rst])
        let consumed = UInt32(length) &+ (isSYN ? 1 : 0) &+ (flags.contains(.fin) ? 1 : 0)
        if let next = flow.next {
            let end = segment.sequence &+ consumed
            if length <= 1 && control.isEmpty && segment.sequence == next &- 1 {
                analysis.append("TCP Keep-Alive")
            } else if consumed > 0 && Self.isBefore(end, orAt: next) && !flags.contains(.rst) {
                analysis.append("TCP Retransmission")
            }
            if length == 0, control.isEmpty, window != 0, segment.sequence == next,
                flags.contains(.ack), segment.acknowledgment == flow.lastAck, let last = flow.lastWindow
            {
                if window != last {
                    analysis.append("TCP Window Update")
                } else {
                    flow.duplicates += 1
                    analysis.append("TCP Dup ACK \(flow.lastAckPacket)#\(flow.duplicates)")
                }
            }
        }
        if window == 0 && !flags.contains(.rst) && !isSYN { analysis.append("TCP ZeroWindow") }

        packet.tcp = TracedPacket.TCPView(
            flags: flags,
            relativeSequence: segment.sequence &- (flow.base ?? segment.sequence),
            relativeAcknowledgment: flags.contains(.ack) ? segment.acknowledgment &- (reverse.base ?? 0) : nil,
            window: window,
            length: length,
            options: Self.optionTexts(segment.options, reverseBase: reverse.base ?? 0),
            analysis: analysis
        )

        // What the next packets are measured against.
        let end = segment.sequence &+ consumed
        if flow.next.map({ Self.isBefore($0, orAt: end) }) ?? true { flow.next = end }
        if flags.contains(.ack) {
            // tshark numbers a duplicate after the first packet that carried this acknowledgment.
            if segment.acknowledgment != flow.lastAck {
                flow.lastAckPacket = packet.number
                flow.duplicates = 0
            }
            flow.lastAck = segment.acknowledgment
        }
        flow.lastWindow = window
        reassemble(segment, payload: payload, flow: &flow, fromClient: fromClient, into: &packet)
        flows[index][forward] = flow
        flows[index][1 - forward] = reverse
        closing(segment, flow: flow, reverse: reverse, fromClient: fromClient, index: index, packet: packet.number)
    }

    /// The connection a segment belongs to (a new one for a SYN on a closed or unknown pair), and whether
    /// the client sent it.
    private mutating func connection(for packet: TracedPacket, segment: TCPSegment) -> (Int, Bool) {
        let key = [packet.source, packet.destination].sorted().joined(separator: " ")
        let opening = segment.flags.contains(.syn) && !segment.flags.contains(.ack)
        if let index = connectionIndex[key] {
            let finished = connections[index].reset != nil || connections[index].secondFin != nil
            if !(opening && finished) { return (index, packet.source == connections[index].client) }
        }
        let sourceIsClient: Bool
        if segment.flags.contains(.syn) {
            sourceIsClient = !segment.flags.contains(.ack)
        } else if let serverPort, segment.sourcePort == serverPort || segment.destinationPort == serverPort {
            sourceIsClient = segment.destinationPort == serverPort
        } else {
            sourceIsClient = segment.sourcePort > segment.destinationPort
        }
        connections.append(
            TracedConnection(
                client: sourceIsClient ? packet.source : packet.destination,
                server: sourceIsClient ? packet.destination : packet.source,
                sawHandshake: segment.flags.contains(.syn)
            )
        )
        flows.append([Flow(), Flow()])
        connectionIndex[key] = connections.count - 1
        return (connections.count - 1, sourceIsClient)
    }

    /// Feeds in-order payload to the direction's frame decoder; a gap (a packet the capture missed) or bytes
    /// that are not the guide's protocol stop decoding for that direction.
    private func reassemble(
        _ segment: TCPSegment,
        payload: ArraySlice<UInt8>,
        flow: inout Flow,
        fromClient: Bool,
        into packet: inout TracedPacket
    ) {
        guard !payload.isEmpty, !flow.decodingStopped else { return }
        let dataStart = segment.sequence &+ (segment.flags.contains(.syn) ? 1 : 0)
        let expected = flow.streamNext ?? dataStart
        let skip = Int(Int32(bitPattern: expected &- dataStart))
        if skip < 0 {
            flow.decodingStopped = true
            if flow.framesDecoded > 0 {
                packet.frameProblem = "bytes missing from the capture: frames no longer followed"
            }
            return
        }
        guard skip < payload.count else { return }  // all of it seen before: a retransmission
        if flow.decoder.isAtMessageBoundary { flow.frameStart = packet.number }
        flow.decoder.feed(payload.dropFirst(skip))
        flow.pending += payload.dropFirst(skip)
        flow.streamNext = dataStart &+ UInt32(payload.count)
        let role: AppFrame.Role =
            connections[packet.connection!].sawHandshake || serverPort != nil
            ? (fromClient ? .request : .response) : .message
        do {
            while let frame = try flow.decoder.next() {
                let headerLength = flow.decoder.lastHeaderLength
                let total = 2 + headerLength + frame.content.count
                let headerText = String(decoding: flow.pending[2..<2 + headerLength], as: UTF8.self)
                flow.pending.removeFirst(total)
                packet.frames.append(
                    AppFrame(
                        role: role,
                        totalLength: total,
                        headerLength: headerLength,
                        header: frame.header,
                        headerText: headerText,
                        content: frame.content,
                        firstPacket: flow.frameStart ?? packet.number
                    )
                )
                flow.framesDecoded += 1
                flow.frameStart = flow.decoder.bufferedByteCount > 0 ? packet.number : nil
            }
        } catch {
            flow.decodingStopped = true
            // A stream that never was the guide's protocol (HTTP, an echo) is not an error worth a line.
            if flow.framesDecoded > 0 { packet.frameProblem = "not a valid app-protocol message: \(error)" }
        }
    }

    /// FINs and RSTs: who closed first, and whether both closed at once.
    private mutating func closing(
        _ segment: TCPSegment,
        flow: Flow,
        reverse: Flow,
        fromClient: Bool,
        index: Int,
        packet: Int
    ) {
        if segment.flags.contains(.rst), connections[index].reset == nil {
            connections[index].reset = (packet, fromClient)
        }
        guard segment.flags.contains(.fin) else { return }
        guard let first = connections[index].firstFin else {
            connections[index].firstFin = (packet, fromClient)
            return
        }
        guard first.fromClient != fromClient, connections[index].secondFin == nil else { return }
        connections[index].secondFin = (packet, fromClient)
        // The other side's FIN occupies the sequence number just before its `next`: if this FIN does not
        // acknowledge it, this side had not received it when it closed.
        if let finEnd = reverse.next {
            let acknowledged = segment.flags.contains(.ack) && !Self.isBefore(segment.acknowledgment, orAt: finEnd &- 1)
            connections[index].simultaneousClose = !acknowledged
        }
    }

    // MARK: - Numbers

    /// True when `a` comes before or at `b` in sequence space (RFC 1982 arithmetic).
    static func isBefore(_ a: UInt32, orAt b: UInt32) -> Bool { Int32(bitPattern: b &- a) >= 0 }

    /// tshark's option words, in the packet's order; NOP and EOL are left out as tshark leaves them out.
    static func optionTexts(_ options: [TCPSegment.Option], reverseBase: UInt32) -> [String] {
        options.flatMap { option -> [String] in
            switch option {
            case .endOfList, .noOperation: []
            case .maximumSegmentSize(let size): ["MSS=\(size)"]
            case .windowScale(let shift): ["WS=\(1 << Int(min(shift, 14)))"]
            case .sackPermitted: ["SACK_PERM"]
            case .sack(let blocks): blocks.map { "SLE=\($0.0 &- reverseBase) SRE=\($0.1 &- reverseBase)" }
            case .timestamps(let value, let echo): ["TSval=\(value)", "TSecr=\(echo)"]
            case .other(let kind, let length): ["option \(kind) (\(length) B)"]
            }
        }
    }
}
