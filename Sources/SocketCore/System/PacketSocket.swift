// PacketSocket.swift -- the AF_PACKET socket `trace` captures with: bound to one interface, a classic BPF
// program attached before any packet can queue, kernel timestamps on every packet.
import CSocketShim
import Glibc

/// What the kernel says about a captured packet besides its bytes.
public struct PacketMetadata: Sendable, Equatable {
    /// The kernel's receive time, nanoseconds since the epoch (CLOCK_REALTIME, as pcap files want).
    public var timestamp: Int64
    /// The packet's length, even when the buffer held less.
    public var wireLength: Int
    /// PACKET_OUTGOING: the copy of a packet this host sent (the filter drops these on loopback).
    public var isOutgoing: Bool
}

extension Socket {
    /// A non-blocking packet socket on `interface` with `program` attached.
    /// The corresponding C calls are `socket(AF_PACKET, SOCK_RAW)`, `setsockopt(SO_ATTACH_FILTER)` and `bind(2)`.
    ///
    /// - Throws: `SystemError`: EPERM without root or CAP_NET_RAW, ENODEV for an unknown interface.
    public static func packetCapture(interface: String, program: [BPFInstruction]) throws(SystemError) -> Socket {
        let index = st_interface_index(interface)
        guard index != 0 else {
            throw SystemError(errno: Errno(rawValue: ENODEV), call: "if_nametoindex", detail: interface)
        }
        let instructions = program.map {
            st_bpf_instruction(code: $0.code, jt: $0.jumpIfTrue, jf: $0.jumpIfFalse, k: $0.k)
        }
        let descriptor = try retryingInterrupts("socket", detail: "AF_PACKET on \(interface)") {
            instructions.withUnsafeBufferPointer { st_packet_open(CInt(index), $0.baseAddress, UInt16($0.count)) }
        }
        return Socket(adopting: descriptor, family: AF_PACKET)
    }

    /// Receives one packet into `buffer` without blocking. The corresponding C function is `recvmsg(2)`.
    ///
    /// - Returns: The bytes copied (at most `buffer.count`) and the packet's metadata, or `.wouldBlock`.
    public func receivePacket(
        into buffer: UnsafeMutableRawBufferPointer
    ) throws(SystemError) -> IOResult<(count: Int, metadata: PacketMetadata)> {
        var info = st_packet_info()
        let fd = descriptor
        let result = try nonBlocking("recvmsg(AF_PACKET)") {
            st_packet_receive(fd, buffer.baseAddress, buffer.count, &info)
        }
        guard case .processed(let count) = result else { return .wouldBlock }
        let metadata = PacketMetadata(
            timestamp: info.seconds &* 1_000_000_000 &+ Int64(info.nanoseconds),
            wireLength: Int(info.length),
            isOutgoing: info.packet_type == 4  // PACKET_OUTGOING (linux/if_packet.h)
        )
        return .processed((count, metadata))
    }

    /// Packets the kernel dropped for lack of buffer space since the last call (PACKET_STATISTICS).
    public func packetDrops() -> Int {
        var packets: UInt32 = 0
        var drops: UInt32 = 0
        return st_packet_statistics(descriptor, &packets, &drops) == 0 ? Int(drops) : 0
    }
}
