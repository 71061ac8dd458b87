// TCPSegment.swift -- a TCP header and its options (RFC 9293, 7323, 2018), as tshark names them.

/// The header fields of one segment.
public struct TCPSegment: Sendable, Equatable {
    public var sourcePort: UInt16
    public var destinationPort: UInt16
    public var sequence: UInt32
    public var acknowledgment: UInt32
    /// The data offset, in bytes (20 to 60).
    public var headerLength: Int
    public var flags: Flags
    /// The window as sent (not yet multiplied by the window scale).
    public var window: UInt16
    public var options: [Option]

    /// The control bits.
    public struct Flags: OptionSet, Sendable, Hashable {
        public let rawValue: UInt16
        public init(rawValue: UInt16) { self.rawValue = rawValue }

        public static let fin = Flags(rawValue: 0x001)
        public static let syn = Flags(rawValue: 0x002)
        public static let rst = Flags(rawValue: 0x004)
        public static let psh = Flags(rawValue: 0x008)
        public static let ack = Flags(rawValue: 0x010)
        public static let urg = Flags(rawValue: 0x020)
        public static let ece = Flags(rawValue: 0x040)
        public static let cwr = Flags(rawValue: 0x080)
        public static let ae = Flags(rawValue: 0x100)

        /// The names in tshark's order: "[SYN, ACK]", "[FIN, PSH, ACK]".
        public var names: [String] {
            let all: [(Flags, String)] = [
                (.fin, "FIN"), (.syn, "SYN"), (.rst, "RST"), (.psh, "PSH"), (.ack, "ACK"), (.urg, "URG"),
                (.ece, "ECE"), (.cwr, "CWR"), (.ae, "AE"),
            ]
            return all.filter { contains($0.0) }.map(\.1)
        }
    }

    /// One option.
    public enum Option: Sendable, Equatable {
        case endOfList
        case noOperation
        case maximumSegmentSize(UInt16)
        /// The shift count; tshark shows the multiplier (WS=1024 for 10).
        case windowScale(UInt8)
        case sackPermitted
        /// Left and right edges of received blocks.
        case sack([(UInt32, UInt32)])
        case timestamps(value: UInt32, echoReply: UInt32)
        case other(kind: UInt8, length: Int)

        public static func == (lhs: Option, rhs: Option) -> Bool {
            switch (lhs, rhs) {
            case (.endOfList, .endOfList), (.noOperation, .noOperation), (.sackPermitted, .sackPermitted): true
            case (.maximumSegmentSize(let a), .maximumSegmentSize(let b)): a == b
            case (.windowScale(let a), .windowScale(let b)): a == b
            case (.sack(let a), .sack(let b)): a.count == b.count && zip(a, b).allSatisfy { $0 == $1 }
            case (.timestamps(let a, let b), .timestamps(let c, let d)): a == c && b == d
            case (.other(let a, let b), .other(let c, let d)): a == c && b == d
            default: false
            }
        }
    }

    /// Parses a header; nil when fewer bytes than it declares (or than 20) are there.
    public init?(_ bytes: ArraySlice<UInt8>) {
        guard let sourcePort = bytes.bigEndian16(at: 0), let destinationPort = bytes.bigEndian16(at: 2),
            let sequence = bytes.bigEndian32(at: 4), let acknowledgment = bytes.bigEndian32(at: 8),
            let offsetAndFlags = bytes.bigEndian16(at: 12), let window = bytes.bigEndian16(at: 14)
        else { return nil }
        let headerLength = Int(offsetAndFlags >> 12) * 4
        guard headerLength >= 20, let optionBytes = bytes.bytes(at: 20, count: headerLength - 20) else { return nil }
        self.sourcePort = sourcePort
        self.destinationPort = destinationPort
        self.sequence = sequence
        self.acknowledgment = acknowledgment
        self.headerLength = headerLength
        self.flags = Flags(rawValue: offsetAndFlags & 0x1FF)
        self.window = window
        self.options = Self.options(optionBytes)
    }

    /// The options; a malformed one ends the list (tshark marks it; nothing after it can be trusted).
    static func options(_ bytes: ArraySlice<UInt8>) -> [Option] {
        var options: [Option] = []
        var offset = 0
        while let kind = bytes.byte(at: offset) {
            if kind == 0 {
                options.append(.endOfList)
                break
            }
            if kind == 1 {
                options.append(.noOperation)
                offset += 1
                continue
            }
            guard let length = bytes.byte(at: offset + 1).map(Int.init), length >= 2,
                let value = bytes.bytes(at: offset + 2, count: length - 2)
            else { break }
            switch (kind, length) {
            case (2, 4): options.append(.maximumSegmentSize(value.bigEndian16(at: 0)!))
            case (3, 3): options.append(.windowScale(value.byte(at: 0)!))
            case (4, 2): options.append(.sackPermitted)
            case (5, _) where (length - 2) % 8 == 0:
                let blocks = (0..<(length - 2) / 8).map {
                    (value.bigEndian32(at: 8 * $0)!, value.bigEndian32(at: 8 * $0 + 4)!)
                }
                options.append(.sack(blocks))
            case (8, 10):
                options.append(.timestamps(value: value.bigEndian32(at: 0)!, echoReply: value.bigEndian32(at: 4)!))
            default: options.append(.other(kind: kind, length: length))
            }
            offset += length
        }
        return options
    }

    /// The window scale shift this segment offers (SYN only), capped at 14 as RFC 7323 says.
    public var windowScaleShift: UInt8? {
        for case .windowScale(let shift) in options { return min(shift, 14) }
        return nil
    }
}
