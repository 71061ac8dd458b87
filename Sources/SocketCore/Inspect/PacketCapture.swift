// PacketCapture.swift -- `trace`'s two sources of packets: a live capture on loopback (the packet socket,
// its filter, the pcap file written as packets come) and a saved capture file. Both feed one analyzer.

/// Why a capture stopped.
public enum CaptureEnding: Sendable, Equatable {
    /// --count packets were seen.
    case count
    /// --duration passed.
    case duration
    /// SIGINT or SIGTERM.
    case signal(CInt)
    /// A saved file was read to its end.
    case endOfFile
}

/// A live capture on the loopback interface.
public final class PacketCapture {
    /// The interface: loopback only (sockettool's traffic never leaves this machine).
    public static let interface = "lo"
    public private(set) var analyzer: TraceAnalyzer
    /// Packets the kernel dropped because the capture fell behind.
    public private(set) var dropped = 0
    private let socket: Socket
    private let pcap: AppendingFile?
    private let buffer = UnsafeMutableRawBufferPointer.allocate(
        byteCount: Int(BPFProgram.snapshotLength),
        alignment: 16
    )

    /// Opens the packet socket with the filter for `port` (every TCP and UDP packet without one) and writes
    /// the pcap file's header.
    ///
    /// - Throws: `SystemError`: EPERM without root or CAP_NET_RAW; a write error on the pcap file.
    public init(port: UInt16?, pcap: AppendingFile?) throws(SystemError) {
        socket = try Socket.packetCapture(interface: Self.interface, program: BPFProgram.capture(port: port))
        analyzer = TraceAnalyzer(serverPort: port)
        self.pcap = pcap
        do {
            try pcap?.write(PcapWriter.fileHeader(linkType: .ethernet, snapshotLength: BPFProgram.snapshotLength))
        } catch {
            close()
            throw error
        }
    }

    deinit {
        buffer.deallocate()
    }

    /// Captures until `count` packets, the `deadline` (MonotonicClock ns) or a signal, handing each packet to
    /// `each` as it is analysed.
    public func run(
        count: Int?,
        deadline: UInt64?,
        signals: SignalPipe,
        each: (TracedPacket) throws -> Void
    ) throws -> CaptureEnding {
        while true {
            if let count, analyzer.packetCount >= count { return .count }
            if let signal = signals.drain().first { return .signal(signal) }
            switch try socket.receivePacket(into: buffer) {
            case .processed(let (length, metadata)):
                // The filter already dropped loopback's outgoing copies; a filter-less kernel would not.
                if metadata.isOutgoing { continue }
                let bytes = Array(UnsafeRawBufferPointer(rebasing: buffer[0..<length]))[...]
                try pcap?.write(
                    PcapWriter.record(bytes, wireLength: metadata.wireLength, timestamp: metadata.timestamp)
                )
                try each(
                    analyzer.add(
                        bytes,
                        linkType: .ethernet,
                        wireLength: metadata.wireLength,
                        timestamp: metadata.timestamp
                    )
                )
            case .wouldBlock:
                if let deadline, MonotonicClock.now() >= deadline { return .duration }
                _ = try Wait.until(
                    deadline,
                    [WaitTarget(socket.descriptor, .readable), WaitTarget(signals.pipe.readDescriptor, .readable)]
                )
            }
        }
    }

    /// Reads the kernel's drop counter (call once, at the end).
    public func collectDrops() {
        dropped += socket.packetDrops()
    }

    /// Closes the socket (the pcap file is the caller's).
    public func close() {
        socket.close()
    }
}

@available(*, unavailable)
extension PacketCapture: Sendable {}

/// A saved capture, read back.
public enum CaptureReplay {
    /// Analyses every packet of the file at `path` (only those from or to `port`, if given).
    ///
    /// - Returns: The analyzer at the end, and why reading stopped early if it did.
    /// - Throws: `SystemError` if the file cannot be read, `CaptureFileError` if it is no capture file.
    public static func run(
        path: String,
        port: UInt16?,
        count: Int?,
        each: (TracedPacket) throws -> Void
    ) throws -> (analyzer: TraceAnalyzer, problem: String?) {
        let (records, problem) = try CaptureFileReader.read(try readWholeFile(path))
        var analyzer = TraceAnalyzer(serverPort: port)
        for record in records {
            if let count, analyzer.packetCount >= count { break }
            if let port {
                let ports = PacketDecoder.decode(record.bytes, linkType: record.linkType).ports
                guard ports?.source == port || ports?.destination == port else { continue }
            }
            try each(
                analyzer.add(
                    record.bytes,
                    linkType: record.linkType,
                    wireLength: record.wireLength,
                    timestamp: record.timestamp
                )
            )
        }
        return (analyzer, problem)
    }
}
