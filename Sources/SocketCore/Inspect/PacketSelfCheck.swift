// PacketSelfCheck.swift -- the properties the fuzzer checks on `trace`'s and `sockets`' decoders, kept in
// the library so the libFuzzer target and the corpus regression test run exactly the same checks.

/// Invariants of the packet decoder, the trace analyzer, the capture-file reader and the sock_diag parser on
/// arbitrary bytes.
public enum PacketSelfCheck {
    /// Every link type the packet decoder reads.
    public static let linkTypes: [LinkType] = [
        .ethernet, .null, .loop, .raw, .linuxCooked, .linuxCooked2, .ipv4, .ipv6,
    ]

    /// Runs every check on `bytes`.
    ///
    /// - Returns: A description of the first violated property, or nil when all hold.
    public static func violation(in bytes: [UInt8]) -> String? {
        for link in linkTypes {
            if let violation = frameViolation(in: bytes, linkType: link) { return violation }
        }
        return captureFileViolation(in: bytes) ?? netlinkViolation(in: bytes)
    }

    /// Any frame of `linkType` decodes to something, and the analyzer and both renderings take it, twice (the
    /// second copy meets the state the first one left).
    public static func frameViolation(in bytes: [UInt8], linkType link: LinkType) -> String? {
        let slice = bytes[...]
        var analyzer = TraceAnalyzer(serverPort: 65432)
        var packets: [TracedPacket] = []
        for _ in 0..<2 {
            let packet = analyzer.add(slice, linkType: link, wireLength: bytes.count, timestamp: 0)
            packets.append(packet)
            _ = TraceText.lines(packet)
            _ = EventLog.jsonLine("packet", packet.fields)
            if let tcp = packet.tcp, tcp.length > bytes.count { return "TCP payload longer than the frame" }
            if let tcp = packet.tcp, tcp.flags.contains(.syn), packet.number == 1, tcp.relativeSequence != 0 {
                return "a first SYN's relative sequence number is not 0"
            }
        }
        _ = TraceText.summary(analyzer, dropped: 0)
        _ = LadderPlot.svg(packets: packets, connections: analyzer.connections)
        _ = EventLog.jsonLine("summary", analyzer.summaryFields(dropped: 0))
        return nil
    }

    /// A frame written to a pcap file reads back unchanged, and the bytes read as a capture file write and read
    /// back the same.
    public static func captureFileViolation(in bytes: [UInt8]) -> String? {
        let slice = bytes[...]
        // A frame written to a pcap file reads back unchanged.
        var file = PcapWriter.fileHeader(linkType: .ethernet, snapshotLength: BPFProgram.snapshotLength)
        file += PcapWriter.record(slice, wireLength: bytes.count, timestamp: 1_000_000_000)
        guard let (records, problem) = try? CaptureFileReader.read(file), problem == nil, records.count == 1,
            Array(records[0].bytes) == bytes, records[0].wireLength == bytes.count
        else { return "pcap round trip differs" }
        // The bytes as a capture file: whatever records come out write and read back the same.
        if let (read, _) = try? CaptureFileReader.read(bytes) {
            var again = PcapWriter.fileHeader(linkType: .ethernet, snapshotLength: BPFProgram.snapshotLength)
            for record in read {
                again += PcapWriter.record(record.bytes, wireLength: record.wireLength, timestamp: record.timestamp)
            }
            guard let (reread, _) = try? CaptureFileReader.read(again),
                reread.map({ Array($0.bytes) }) == read.map({ Array($0.bytes) })
            else { return "records of a capture file do not survive a rewrite" }
        }
        return nil
    }

    /// Netlink replies and TCP_INFO: every parser takes anything.
    public static func netlinkViolation(in bytes: [UInt8]) -> String? {
        let slice = bytes[...]
        // Netlink replies: every table's parser takes anything; no more messages than 16-byte headers fit.
        if Netlink.messages(in: slice).count > bytes.count / Netlink.headerLength {
            return "more netlink messages than fit"
        }
        for table in SockDiag.Table.allCases {
            _ = SockDiag.parse(slice, table: table, sequence: bytes.first.map(UInt32.init) ?? 0)
        }
        _ = SockDiag.inetSocket(slice, table: .tcp4)
        _ = SockDiag.unixSocket(slice)
        _ = KernelTCPInfo(bytes: slice)
        return nil
    }
}
