// TraceDecoderTests.swift -- the pure half of `trace`: golden packets (a real capture of one search, the
// guide's own 13-packet transcript rebuilt), the BPF filter run on packets, pcap and pcapng read back,
// frames split over segments, closes of every kind, and hostile bytes.
import Foundation
import SocketCore
import TestSupport
import Testing

@Suite struct TraceDecoderTests {
    static let fixtures = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("Fixtures")

    /// The request and response of the guide's programs, from sockettool's own encoder.
    static let request = Frame.json(
        .object([JSONMember("action", .string("search")), JSONMember("value", .string("morpheus"))]),
        byteOrder: .little
    ).encoded()
    static let response = Frame.json(
        .object([JSONMember("result", .string("Follow the white rabbit. \u{1F430}"))]),
        byteOrder: .little
    ).encoded()

    private func analyse(
        _ frames: [[UInt8]],
        linkType: LinkType,
        serverPort: UInt16? = nil
    ) -> (TraceAnalyzer, [TracedPacket]) {
        var analyzer = TraceAnalyzer(serverPort: serverPort)
        var packets: [TracedPacket] = []
        for (index, frame) in frames.enumerated() {
            packets.append(
                analyzer.add(frame[...], linkType: linkType, wireLength: frame.count, timestamp: Int64(index) * 1000)
            )
        }
        return (analyzer, packets)
    }

    /// A line's fields after "TCP <length> " and its expert notes.
    private func fields(_ line: String) -> (notes: [String], fields: String) {
        var rest = Substring(line)
        guard let tcp = rest.range(of: " TCP ") else { return ([], line) }
        rest = rest[tcp.upperBound...].drop { $0 != " " }.dropFirst()
        var notes: [String] = []
        while rest.hasPrefix("[TCP "), let end = rest.firstIndex(of: "]") {
            notes.append(String(rest[rest.index(after: rest.startIndex)..<end]))
            rest = rest[rest.index(after: end)...].dropFirst()
        }
        return (notes, String(rest))
    }

    @Test("a real capture of one search (10 packets): tshark's fields, the two frames, the server closing first")
    func realCapture() throws {
        let file = try [UInt8](Data(contentsOf: Self.fixtures.appendingPathComponent("search-exchange.pcap")))
        let (records, problem) = try CaptureFileReader.read(file)
        #expect(problem == nil && records.count == 10 && records.allSatisfy { $0.linkType == .ethernet })
        let (analyzer, packets) = analyse(records.map { Array($0.bytes) }, linkType: .ethernet)
        // What `tshark -r search-exchange.pcap` prints after "SPORT → DPORT ".
        let tshark = [
            "[SYN] Seq=0 Win=65495 Len=0 MSS=65495 SACK_PERM TSval=420286117 TSecr=0 WS=1024",
            "[SYN, ACK] Seq=0 Ack=1 Win=65483 Len=0 MSS=65495 SACK_PERM TSval=2089529084 TSecr=420286117 WS=1024",
            "[ACK] Seq=1 Ack=1 Win=65536 Len=0 TSval=420286117 TSecr=2089529084",
            "[PSH, ACK] Seq=1 Ack=1 Win=65536 Len=146 TSval=420286118 TSecr=2089529084",
            "[ACK] Seq=1 Ack=147 Win=65536 Len=0 TSval=2089529085 TSecr=420286118",
            "[PSH, ACK] Seq=1 Ack=147 Win=65536 Len=148 TSval=2089529089 TSecr=420286118",
            "[ACK] Seq=147 Ack=149 Win=65536 Len=0 TSval=420286122 TSecr=2089529089",
            "[FIN, ACK] Seq=149 Ack=147 Win=65536 Len=0 TSval=2089529089 TSecr=420286122",
            "[FIN, ACK] Seq=147 Ack=150 Win=65536 Len=0 TSval=420286123 TSecr=2089529089",
            "[ACK] Seq=150 Ack=148 Win=65536 Len=0 TSval=2089529090 TSecr=420286123",
        ]
        for (packet, expected) in zip(packets, tshark) {
            let line = try #require(TraceText.lines(packet).first)
            #expect(fields(line).fields == expected, "\(line)")
            #expect(fields(line).notes.isEmpty, "\(line)")
        }
        #expect(
            TraceText.lines(packets[0]).first?.hasPrefix("    1 0.000000 127.0.0.1:41970 → 127.0.0.1:34151 TCP 74 ")
                == true
        )
        let request = try #require(packets[3].frames.first)
        #expect(request.role == .request && request.totalLength == 146 && request.headerLength == 103)
        #expect(request.meaning == "search morpheus" && request.header.contentLength == 41)
        let response = try #require(packets[5].frames.first)
        #expect(
            response.role == .response && response.totalLength == 148
                && response.meaning == "result: Follow the white rabbit. 🐰"
        )
        #expect(
            TraceText.lines(packets[3]).dropFirst().map { $0 } == [
                "      app request, 146 B = 2 + 103 + 41: search morpheus",
                "        length  b'\\x00g' = 103",
                #"        header  {"byteorder": "little", "content-type": "text/json", "content-encoding": "utf-8", "content-length": 41}"#,
                #"        content {"action": "search", "value": "morpheus"}"#,
            ]
        )
        let connection = try #require(analyzer.connections.first)
        #expect(analyzer.connections.count == 1 && connection.client == "127.0.0.1:41970")
        #expect(connection.firstFin?.packet == 8 && connection.firstFin?.fromClient == false)
        #expect(
            connection.secondFin?.packet == 9 && !connection.simultaneousClose && connection.timeWaitSides == [false]
        )
        #expect(
            TraceText.summary(analyzer, dropped: 0).last?.contains(
                "the server (127.0.0.1:34151) sent the first FIN (packet 8)"
            ) == true
        )
    }

    @Test("the guide's 13-packet transcript, rebuilt on lo0: every field, the Window Update and the Dup ACK 6#1")
    func guideTranscript() throws {
        let segments = GuideCapture.segments(request: Self.request, response: Self.response)
        let (analyzer, packets) = analyse(segments.map(\.loopbackFrame), linkType: .null)
        #expect(packets.count == 13)
        for (packet, expected) in zip(packets, GuideCapture.transcript) {
            let line = try #require(TraceText.lines(packet).first)
            #expect(fields(line).notes == expected.notes, "\(line)")
            #expect(fields(line).fields == expected.fields, "\(line)")
        }
        #expect(packets[4].frames.map(\.totalLength) == [146] && packets[6].frames.map(\.totalLength) == [148])
        #expect(
            analyzer.connections.first?.firstFin?.packet == 9 && analyzer.connections.first?.timeWaitSides == [false]
        )
    }

    @Test("the BPF filter: the port's TCP and UDP, either direction, IPv4 and IPv6; never the outgoing copy")
    func filterProgram() {
        let program = BPFProgram.capture(port: 65432).map {
            (code: $0.code, jt: $0.jumpIfTrue, jf: $0.jumpIfFalse, k: $0.k)
        }
        let everything = BPFProgram.capture(port: nil).map {
            (code: $0.code, jt: $0.jumpIfTrue, jf: $0.jumpIfFalse, k: $0.k)
        }
        var toPort = BuiltSegment()
        toPort.flags = 0x02
        var fromPort = toPort
        swap(&fromPort.source, &fromPort.destination)
        var other = toPort
        other.destination.port = 65433
        let accepted = BPFProgram.snapshotLength
        #expect(BPFInterpreter.run(program, packet: toPort.ethernetFrame, packetType: 0) == accepted)
        #expect(BPFInterpreter.run(program, packet: fromPort.ethernetFrame, packetType: 0) == accepted)
        #expect(BPFInterpreter.run(program, packet: other.ethernetFrame, packetType: 0) == 0)
        #expect(BPFInterpreter.run(program, packet: toPort.ethernetFrame, packetType: 4) == 0, "PACKET_OUTGOING")
        #expect(BPFInterpreter.run(everything, packet: other.ethernetFrame, packetType: 0) == accepted)
        #expect(BPFInterpreter.run(everything, packet: other.ethernetFrame, packetType: 4) == 0)
        // UDP to the port: the same header offsets.
        var udp = toPort.ethernetFrame
        udp[23] = 17
        #expect(BPFInterpreter.run(program, packet: udp, packetType: 0) == accepted)
        // ICMP, and a later IPv4 fragment (no ports in it), are dropped.
        var icmp = toPort.ethernetFrame
        icmp[23] = 1
        #expect(BPFInterpreter.run(program, packet: icmp, packetType: 0) == 0)
        #expect(BPFInterpreter.run(everything, packet: icmp, packetType: 0) == 0)
        var fragment = toPort.ethernetFrame
        fragment[20] = 0x00
        fragment[21] = 0x10
        #expect(BPFInterpreter.run(program, packet: fragment, packetType: 0) == 0)
        // An IPv4 header with options moves the ports: X = 4 * IHL finds them.
        var long = toPort.ethernetFrame
        long[14] = 0x46
        long.insert(contentsOf: [1, 1, 1, 1], at: 34)
        #expect(BPFInterpreter.run(program, packet: long, packetType: 0) == accepted)
        // IPv6: ports right after the 40-byte header.
        let ipv6 =
            [UInt8](repeating: 0, count: 12) + [0x86, 0xDD] + [0x60, 0, 0, 0] + be16(UInt16(toPort.tcpBytes.count)) + [
                6, 64,
            ]
            + [UInt8](repeating: 0, count: 15) + [1] + [UInt8](repeating: 0, count: 15) + [1] + toPort.tcpBytes
        #expect(BPFInterpreter.run(program, packet: ipv6, packetType: 0) == accepted)
        #expect(PacketDecoder.decode(ipv6[...], linkType: .ethernet).network?.source == "::1")
        #expect(PacketDecoder.decode(ipv6[...], linkType: .ethernet).tcp?.destinationPort == 65432)
    }

    @Test("pcap written and read back: bytes, lengths and microsecond times; both byte orders and nanoseconds")
    func pcapRoundTrip() throws {
        let packets = GuideCapture.segments(request: Self.request, response: Self.response).map(\.ethernetFrame)
        var file = PcapWriter.fileHeader(linkType: .ethernet, snapshotLength: 262_144)
        for (index, packet) in packets.enumerated() {
            file += PcapWriter.record(
                packet[...],
                wireLength: packet.count,
                timestamp: 1_700_000_000_123_456_789 + Int64(index) * 1000
            )
        }
        let (records, problem) = try CaptureFileReader.read(file)
        #expect(problem == nil && records.map { Array($0.bytes) } == packets)
        #expect(records.first?.timestamp == 1_700_000_000_123_456_000, "microseconds: the nanoseconds are cut")
        // The same file big-endian with nanosecond timestamps.
        var swapped: [UInt8] =
            [0xA1, 0xB2, 0x3C, 0x4D, 0, 2, 0, 4] + [UInt8](repeating: 0, count: 8) + be32(262_144) + be32(1)
        swapped += be32(5) + be32(7) + be32(UInt32(packets[0].count)) + be32(UInt32(packets[0].count)) + packets[0]
        let (big, _) = try CaptureFileReader.read(swapped)
        #expect(big.first?.timestamp == 5_000_000_007 && big.first.map { Array($0.bytes) } == packets[0])
        // Cut short in the middle of a record: what came before, and why it stopped.
        let (cut, why) = try CaptureFileReader.read(Array(file.dropLast(10)))
        #expect(cut.count == packets.count - 1 && why?.contains("cut short") == true)
        #expect(throws: CaptureFileError.self) { try CaptureFileReader.read(Array("not a capture".utf8)) }
    }

    @Test("pcapng: a section, an interface with nanosecond resolution, enhanced packet blocks")
    func pcapngReading() throws {
        let packet = GuideCapture.segments(request: Self.request, response: Self.response)[4].ethernetFrame
        func le32(_ value: UInt32) -> [UInt8] { be32(value).reversed() }
        func block(_ type: UInt32, _ body: [UInt8]) -> [UInt8] {
            var padded = body
            while padded.count % 4 != 0 { padded.append(0) }
            return le32(type) + le32(UInt32(12 + padded.count)) + padded + le32(UInt32(12 + padded.count))
        }
        var file = block(0x0A0D_0D0A, le32(0x1A2B_3C4D) + [1, 0, 0, 0] + [UInt8](repeating: 0xFF, count: 8))
        file += block(1, [1, 0, 0, 0] + le32(262_144) + [9, 0, 1, 0, 9, 0, 0, 0] + [0, 0, 0, 0])  // if_tsresol 10^-9
        let ticks: UInt64 = 1_700_000_000_123_456_789
        file += block(
            6,
            le32(0) + le32(UInt32(ticks >> 32)) + le32(UInt32(ticks & 0xFFFF_FFFF)) + le32(UInt32(packet.count))
                + le32(UInt32(packet.count)) + packet
        )
        let (records, problem) = try CaptureFileReader.read(file)
        #expect(problem == nil && records.count == 1)
        #expect(records.first?.timestamp == Int64(ticks) && records.first.map { Array($0.bytes) } == packet)
    }

    @Test("a request in two segments is one frame, shown where it completes; a stream of another protocol shows none")
    func reassembly() throws {
        var syn = BuiltSegment()
        syn.flags = 0x02
        var synAck = BuiltSegment()
        swap(&synAck.source, &synAck.destination)
        synAck.flags = 0x12
        synAck.acknowledgment = 1
        var first = BuiltSegment()
        first.sequence = 1
        first.acknowledgment = 1
        first.payload = Array(Self.request[0..<50])
        var second = first
        second.sequence = 51
        second.payload = Array(Self.request[50...])
        var retransmitted = second  // the same bytes again: no second frame
        retransmitted.flags = 0x18
        let (_, packets) = analyse(
            [syn, synAck, first, second, retransmitted].map(\.ethernetFrame),
            linkType: .ethernet
        )
        #expect(packets[2].frames.isEmpty)
        #expect(packets[3].frames.map(\.firstPacket) == [3] && packets[3].frames.first?.meaning == "search morpheus")
        #expect(TraceText.lines(packets[3])[1].hasPrefix("      app request (packets 3-4), 146 B"))
        #expect(packets[4].frames.isEmpty && packets[4].tcp?.analysis == ["TCP Retransmission"])

        var http = first
        http.payload = Array("GET / HTTP/1.1\r\nHost: localhost\r\n\r\n".utf8)
        let (_, plain) = analyse([syn, synAck, http].map(\.ethernetFrame), linkType: .ethernet)
        #expect(plain[2].frames.isEmpty && plain[2].frameProblem == nil && TraceText.lines(plain[2]).count == 1)
    }

    @Test("closes: both FINs at once keep TIME_WAIT on both sides; a reset on neither; one FIN leaves CLOSE_WAIT")
    func closes() {
        var clientFin = BuiltSegment()
        clientFin.flags = 0x11
        clientFin.sequence = 100
        clientFin.acknowledgment = 200
        var serverFin = BuiltSegment()
        swap(&serverFin.source, &serverFin.destination)
        serverFin.flags = 0x11
        serverFin.sequence = 200
        serverFin.acknowledgment = 100  // sent before the client's FIN arrived: it does not acknowledge it
        let (simultaneous, _) = analyse(
            [clientFin, serverFin].map(\.ethernetFrame),
            linkType: .ethernet,
            serverPort: 65432
        )
        #expect(simultaneous.connections.first?.simultaneousClose == true)
        #expect(simultaneous.connections.first?.timeWaitSides.count == 2)
        #expect(TraceText.summary(simultaneous, dropped: 0).last?.contains("both keep TIME_WAIT") == true)

        var reset = serverFin
        reset.flags = 0x14
        let (aborted, _) = analyse([clientFin, reset].map(\.ethernetFrame), linkType: .ethernet, serverPort: 65432)
        #expect(aborted.connections.first?.timeWaitSides == [])
        #expect(
            TraceText.summary(aborted, dropped: 0).last?.contains(
                "the server (127.0.0.1:65432) reset it (RST, packet 2)"
            ) == true
        )

        let (halfClosed, _) = analyse([clientFin.ethernetFrame], linkType: .ethernet, serverPort: 65432)
        #expect(TraceText.summary(halfClosed, dropped: 0).last?.contains("has not closed yet (CLOSE_WAIT)") == true)
        #expect(
            halfClosed.connections.first?.sawHandshake == false
                && halfClosed.connections.first?.client == "127.0.0.1:53942"
        )
    }

    @Test("hostile frames: truncated and garbage bytes of every link type decode to a reason, never a trap")
    func hostileFrames() {
        let valid = GuideCapture.segments(request: Self.request, response: Self.response)[4].ethernetFrame
        for cut in 0..<valid.count {
            let decoded = PacketDecoder.decode(valid[0..<cut], linkType: .ethernet)
            if cut < 54 { #expect(decoded.problem != nil || decoded.tcp == nil, "cut at \(cut)") }
        }
        var seed: UInt64 = 7
        let links: [LinkType] = [.null, .ethernet, .raw, .loop, .linuxCooked, .linuxCooked2, .ipv4, .ipv6]
        var analyzer = TraceAnalyzer()
        for length in 0..<400 {
            var bytes = valid.prefix(min(length, 40)) + [UInt8](repeating: 0, count: max(0, length - 40))
            for index in bytes.indices where index >= 30 {
                seed = seed &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
                bytes[index] = UInt8(truncatingIfNeeded: seed >> 33)
            }
            for link in links {
                let packet = analyzer.add(
                    Array(bytes)[...],
                    linkType: link,
                    wireLength: bytes.count,
                    timestamp: Int64(length)
                )
                _ = TraceText.lines(packet)
                _ = packet.fields
            }
            _ = try? CaptureFileReader.read(Array(bytes))
        }
    }
}
