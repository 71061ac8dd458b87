// BPFProgram.swift -- the classic BPF program `trace` attaches to its AF_PACKET socket (SO_ATTACH_FILTER):
// the kernel runs it on every loopback packet and queues only the ones it accepts, so the capture never
// copies, wakes for or can be flooded by traffic it does not show.
//
// It is what `tcpdump -dd -i lo 'tcp port P or udp port P'` compiles, written out by hand with names, plus
// one test libpcap does in user space instead: on loopback the kernel hands a packet socket every packet
// twice, once leaving (PACKET_OUTGOING) and once arriving (PACKET_HOST); tshark shows it once, and so does
// this filter, by dropping the outgoing copy.

/// One instruction, as struct sock_filter lays it out.
public struct BPFInstruction: Sendable, Equatable {
    public var code: UInt16
    /// Instructions to skip when a conditional jump's test is true / false.
    public var jumpIfTrue: UInt8
    public var jumpIfFalse: UInt8
    public var k: UInt32

    public init(code: UInt16, jumpIfTrue: UInt8 = 0, jumpIfFalse: UInt8 = 0, k: UInt32) {
        self.code = code
        self.jumpIfTrue = jumpIfTrue
        self.jumpIfFalse = jumpIfFalse
        self.k = k
    }
}

/// The capture filter.
public enum BPFProgram {
    // Opcodes (linux/filter.h): class | size | mode, jumps class | op | source.
    static let loadWordAbsolute: UInt16 = 0x20  // BPF_LD | BPF_W | BPF_ABS: A = 32 bits at [k]
    static let loadHalfAbsolute: UInt16 = 0x28  // BPF_LD | BPF_H | BPF_ABS: A = 16 bits at [k]
    static let loadByteAbsolute: UInt16 = 0x30  // BPF_LD | BPF_B | BPF_ABS: A = 8 bits at [k]
    static let loadHalfIndirect: UInt16 = 0x48  // BPF_LD | BPF_H | BPF_IND: A = 16 bits at [X + k]
    static let loadHeaderLength: UInt16 = 0xB1  // BPF_LDX | BPF_B | BPF_MSH: X = 4 * ([k] & 0xf)
    static let jumpIfEqual: UInt16 = 0x15  // BPF_JMP | BPF_JEQ | BPF_K
    static let jumpIfAnyBit: UInt16 = 0x45  // BPF_JMP | BPF_JSET | BPF_K
    static let returnConstant: UInt16 = 0x06  // BPF_RET | BPF_K

    /// SKF_AD_OFF + SKF_AD_PKTTYPE: a load from here reads the packet's type, not its bytes.
    static let packetTypeOffset: UInt32 = 0xFFFF_F000 + 4
    /// PACKET_OUTGOING.
    static let outgoing: UInt32 = 4
    /// How many bytes of an accepted packet to keep: all of them (loopback packets reach 64 KiB).
    public static let snapshotLength: UInt32 = 262_144

    /// Accepts IPv4 and IPv6 TCP and UDP packets arriving on loopback (the outgoing copy dropped), and
    /// with `port` only those from or to that port. The frames on `lo` start with a 14-byte Ethernet
    /// header of zero addresses, as on any Ethernet.
    public static func capture(port: UInt16?) -> [BPFInstruction] {
        var program = Assembler()
        program.load(loadWordAbsolute, packetTypeOffset)
        program.jump(ifEqual: outgoing, then: "drop", else: nil)
        program.load(loadHalfAbsolute, 12)  // EtherType
        program.jump(ifEqual: 0x86DD, then: "ipv6", else: nil)
        program.jump(ifEqual: 0x0800, then: nil, else: "drop")
        // IPv4: protocol at 14 + 9, fragment offset at 14 + 6, ports after the IHL-long header.
        program.load(loadByteAbsolute, 23)
        program.jump(ifEqual: 6, then: port == nil ? "accept" : "ipv4 ports", else: nil)
        program.jump(ifEqual: 17, then: port == nil ? "accept" : nil, else: "drop")
        if let port {
            program.label("ipv4 ports")
            program.load(loadHalfAbsolute, 20)
            program.jump(ifAnyBit: 0x1FFF, then: "drop", else: nil)  // a later fragment has no ports
            program.load(loadHeaderLength, 14)
            program.load(loadHalfIndirect, 14)  // source port
            program.jump(ifEqual: UInt32(port), then: "accept", else: nil)
            program.load(loadHalfIndirect, 16)  // destination port
            program.jump(ifEqual: UInt32(port), then: "accept", else: "drop")
        }
        // IPv6: next header at 14 + 6, ports right after the 40-byte header (no extension headers).
        program.label("ipv6")
        program.load(loadByteAbsolute, 20)
        program.jump(ifEqual: 6, then: port == nil ? "accept" : "ipv6 ports", else: nil)
        program.jump(ifEqual: 17, then: port == nil ? "accept" : nil, else: "drop")
        if let port {
            program.label("ipv6 ports")
            program.load(loadHalfAbsolute, 54)
            program.jump(ifEqual: UInt32(port), then: "accept", else: nil)
            program.load(loadHalfAbsolute, 56)
            program.jump(ifEqual: UInt32(port), then: "accept", else: "drop")
        }
        program.label("accept")
        program.load(returnConstant, snapshotLength)
        program.label("drop")
        program.load(returnConstant, 0)
        return program.resolved()
    }

    /// Writes instructions with named jump targets, resolved to the forward offsets BPF wants at the end.
    private struct Assembler {
        private var instructions: [(BPFInstruction, then: String?, else: String?)] = []
        private var labels: [String: Int] = [:]

        mutating func load(_ code: UInt16, _ k: UInt32) {
            instructions.append((BPFInstruction(code: code, k: k), nil, nil))
        }

        mutating func jump(ifEqual value: UInt32, then: String?, else otherwise: String?) {
            instructions.append((BPFInstruction(code: jumpIfEqual, k: value), then, otherwise))
        }

        mutating func jump(ifAnyBit mask: UInt32, then: String?, else otherwise: String?) {
            instructions.append((BPFInstruction(code: jumpIfAnyBit, k: mask), then, otherwise))
        }

        mutating func label(_ name: String) { labels[name] = instructions.count }

        /// nil targets fall through to the next instruction.
        func resolved() -> [BPFInstruction] {
            instructions.enumerated().map { index, entry in
                var instruction = entry.0
                func offset(_ target: String?) -> UInt8 {
                    guard let target, let position = labels[target] else { return 0 }
                    precondition(position > index, "BPF jumps only forward")
                    return UInt8(position - index - 1)
                }
                instruction.jumpIfTrue = offset(entry.then)
                instruction.jumpIfFalse = offset(entry.else)
                return instruction
            }
        }
    }
}
