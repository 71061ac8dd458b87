// PacketBuilder.swift -- packets made byte by byte for the trace tests: Ethernet (or BSD loopback) + IPv4
// + TCP with options, and a classic BPF interpreter, independent of the decoder and filter under test.

/// A TCP segment to build.
public struct BuiltSegment {
    public var source = (host: [UInt8](arrayLiteral: 127, 0, 0, 1), port: UInt16(53942))
    public var destination = (host: [UInt8](arrayLiteral: 127, 0, 0, 1), port: UInt16(65432))
    public var sequence: UInt32 = 0
    public var acknowledgment: UInt32 = 0
    /// FIN 0x01, SYN 0x02, RST 0x04, PSH 0x08, ACK 0x10.
    public var flags: UInt16 = 0x10
    public var window: UInt16 = 65535
    /// Raw option bytes (padded to 4 by `tcpBytes`).
    public var options: [UInt8] = []
    public var payload: [UInt8] = []

    public init() {}

    /// MSS, SACK_PERM, TS, NOP, WS: the order Linux sends them in a SYN.
    public static func synOptions(mss: UInt16, tsval: UInt32, tsecr: UInt32, shift: UInt8) -> [UInt8] {
        [2, 4, UInt8(mss >> 8), UInt8(mss & 0xFF), 4, 2, 8, 10] + be32(tsval) + be32(tsecr) + [1, 3, 3, shift]
    }

    /// NOP, NOP, TS: every later segment.
    public static func timestampOptions(tsval: UInt32, tsecr: UInt32) -> [UInt8] {
        [1, 1, 8, 10] + be32(tsval) + be32(tsecr)
    }

    public var tcpBytes: [UInt8] {
        var options = self.options
        while options.count % 4 != 0 { options.append(0) }
        let offset = UInt16((20 + options.count) / 4) << 12
        var bytes = be16(source.port) + be16(destination.port) + be32(sequence) + be32(acknowledgment)
        bytes += be16(offset | flags) + be16(window) + [0, 0, 0, 0]
        return bytes + options + payload
    }

    /// An IPv4 packet (no link header).
    public var ipv4Bytes: [UInt8] {
        let tcp = tcpBytes
        let header: [UInt8] = [0x45, 0] + be16(UInt16(20 + tcp.count)) + [0, 1, 0x40, 0, 64, 6, 0, 0]
        return header + source.host + destination.host + tcp
    }

    /// The frame as Linux's `lo` shows it: a zero Ethernet header, then IPv4.
    public var ethernetFrame: [UInt8] { [UInt8](repeating: 0, count: 12) + [0x08, 0x00] + ipv4Bytes }

    /// The frame as macOS's `lo0` shows it (the guide's capture): AF_INET in host order, then IPv4.
    public var loopbackFrame: [UInt8] { [2, 0, 0, 0] + ipv4Bytes }
}

public func be16(_ value: UInt16) -> [UInt8] { [UInt8(value >> 8), UInt8(value & 0xFF)] }
public func be32(_ value: UInt32) -> [UInt8] {
    [UInt8(value >> 24), UInt8((value >> 16) & 0xFF), UInt8((value >> 8) & 0xFF), UInt8(value & 0xFF)]
}

/// A classic BPF interpreter for the instructions `BPFProgram` uses, so the filter's logic is tested on
/// packets without a kernel (the kernel runs the same program in the CLI tests).
public enum BPFInterpreter {
    /// The program's return value for `packet` (0: dropped), with `packetType` for the SKF_AD_PKTTYPE load.
    public static func run(
        _ program: [(code: UInt16, jt: UInt8, jf: UInt8, k: UInt32)],
        packet: [UInt8],
        packetType: UInt32
    ) -> UInt32? {
        var a: UInt32 = 0
        var x: UInt32 = 0
        var pc = 0
        func load(_ offset: Int, _ width: Int) -> UInt32? {
            guard offset >= 0, offset + width <= packet.count else { return nil }
            return packet[offset..<offset + width].reduce(0) { $0 << 8 | UInt32($1) }
        }
        while pc < program.count {
            let instruction = program[pc]
            pc += 1
            switch instruction.code {
            case 0x20 where instruction.k == 0xFFFF_F004: a = packetType
            case 0x20:
                guard let value = load(Int(instruction.k), 4) else { return 0 }
                a = value
            case 0x28:
                guard let value = load(Int(instruction.k), 2) else { return 0 }
                a = value
            case 0x30:
                guard let value = load(Int(instruction.k), 1) else { return 0 }
                a = value
            case 0x48:
                guard let value = load(Int(x) + Int(instruction.k), 2) else { return 0 }
                a = value
            case 0xB1:
                guard let value = load(Int(instruction.k), 1) else { return 0 }
                x = (value & 0xF) * 4
            case 0x15: pc += Int(a == instruction.k ? instruction.jt : instruction.jf)
            case 0x45: pc += Int(a & instruction.k != 0 ? instruction.jt : instruction.jf)
            case 0x06: return instruction.k
            default: return nil  // an instruction this interpreter does not know: the test fails
            }
        }
        return nil
    }
}
