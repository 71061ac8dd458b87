// PcapFile.swift -- capture files: the classic pcap format `trace --pcap` writes (what tcpdump -w writes,
// and what Wireshark, tshark -r and tcpdump -r read), and both pcap and pcapng read back for
// `trace --read`. Pure: bytes in, bytes or records out.

/// One packet of a capture file.
public struct CaptureRecord: Sendable, Equatable {
    /// Nanoseconds since the epoch.
    public var timestamp: Int64
    /// The packet's length on the wire (the bytes may be fewer if the capture cut it).
    public var wireLength: Int
    public var linkType: LinkType
    public var bytes: ArraySlice<UInt8>
}

/// The classic pcap format (https://www.ietf.org/archive/id/draft-ietf-opsawg-pcap-04.html), written little-endian
/// with microsecond timestamps, the variant every reader knows.
public enum PcapWriter {
    /// The 24-byte file header.
    public static func fileHeader(linkType: LinkType, snapshotLength: UInt32) -> [UInt8] {
        var bytes: [UInt8] = []
        bytes.appendLittleEndian(UInt32(0xA1B2_C3D4))  // magic: microseconds
        bytes.appendLittleEndian(UInt16(2))  // version 2.4
        bytes.appendLittleEndian(UInt16(4))
        bytes.appendLittleEndian(Int32(0))  // thiszone: timestamps are UTC
        bytes.appendLittleEndian(UInt32(0))  // sigfigs
        bytes.appendLittleEndian(snapshotLength)
        bytes.appendLittleEndian(linkType.rawValue)
        return bytes
    }

    /// One record: its 16-byte header, then the captured bytes.
    public static func record(_ packet: ArraySlice<UInt8>, wireLength: Int, timestamp: Int64) -> [UInt8] {
        var bytes: [UInt8] = []
        bytes.reserveCapacity(16 + packet.count)
        let seconds = timestamp >= 0 ? timestamp / 1_000_000_000 : 0
        bytes.appendLittleEndian(UInt32(truncatingIfNeeded: seconds))
        bytes.appendLittleEndian(UInt32(timestamp >= 0 ? (timestamp % 1_000_000_000) / 1000 : 0))
        bytes.appendLittleEndian(UInt32(packet.count))
        bytes.appendLittleEndian(UInt32(clamping: max(wireLength, packet.count)))
        bytes += packet
        return bytes
    }
}

/// Why a file cannot be read as a capture at all.
public struct CaptureFileError: Error, Sendable, Equatable, CustomStringConvertible {
    public let description: String
}

/// Reads pcap (either byte order, micro- or nanoseconds) and pcapng (section, interface, enhanced and simple
/// packet blocks).
public enum CaptureFileReader {
    /// The records of a file, and why reading stopped early if it did (a file cut short, a link type this
    /// reader does not know).
    ///
    /// - Throws: `CaptureFileError` when the file is neither format.
    public static func read(_ file: [UInt8]) throws(CaptureFileError) -> (records: [CaptureRecord], problem: String?) {
        let bytes = file[...]
        guard let magic = bytes.littleEndian(at: 0, width: 4) else {
            throw CaptureFileError(description: "too short for a capture file (\(file.count) bytes)")
        }
        switch magic {
        case 0xA1B2_C3D4, 0xD4C3_B2A1, 0xA1B2_3C4D, 0x4D3C_B2A1: return try pcap(bytes)
        case 0x0A0D_0D0A: return try pcapng(bytes)
        default:
            throw CaptureFileError(
                description: "not a pcap or pcapng file (it starts with \(ByteNotation.format(Array(bytes.prefix(4)))))"
            )
        }
    }

    // MARK: - pcap

    private static func pcap(_ bytes: ArraySlice<UInt8>) throws(CaptureFileError) -> ([CaptureRecord], String?) {
        let raw = bytes.littleEndian(at: 0, width: 4)!
        let swapped = raw == 0xD4C3_B2A1 || raw == 0x4D3C_B2A1
        let nanoseconds = raw == 0xA1B2_3C4D || raw == 0x4D3C_B2A1
        func u32(_ offset: Int) -> UInt32? {
            guard let value = bytes.littleEndian(at: offset, width: 4).map({ UInt32($0) }) else { return nil }
            return swapped ? value.byteSwapped : value
        }
        guard let network = u32(20) else { throw CaptureFileError(description: "pcap file header cut short") }
        // The link type's low 16 bits; the upper ones may carry an FCS length (pcap's LINKTYPE_ field).
        guard let linkType = LinkType(number: network & 0xFFFF) else {
            return (
                [], "link type \(network & 0xFFFF) is not one trace reads (Ethernet, Linux cooked, loopback, raw IP)"
            )
        }
        var records: [CaptureRecord] = []
        var offset = 24
        while offset < bytes.count {
            guard let seconds = u32(offset), let fraction = u32(offset + 4), let captured = u32(offset + 8),
                let wire = u32(offset + 12), let data = bytes.bytes(at: offset + 16, count: Int(captured))
            else { return (records, "the file is cut short in the middle of packet \(records.count + 1)") }
            let timestamp = Int64(seconds) * 1_000_000_000 + Int64(fraction) * (nanoseconds ? 1 : 1000)
            records.append(CaptureRecord(timestamp: timestamp, wireLength: Int(wire), linkType: linkType, bytes: data))
            offset += 16 + Int(captured)
        }
        return (records, nil)
    }

    // MARK: - pcapng

    private static func pcapng(_ bytes: ArraySlice<UInt8>) throws(CaptureFileError) -> ([CaptureRecord], String?) {
        var records: [CaptureRecord] = []
        var interfaces: [(linkType: LinkType?, unitsPerSecond: Int64)] = []
        var swapped = false
        var offset = 0
        func u32(_ at: Int) -> UInt32? {
            guard let value = bytes.littleEndian(at: at, width: 4).map({ UInt32($0) }) else { return nil }
            return swapped ? value.byteSwapped : value
        }
        func u16(_ at: Int) -> UInt16? {
            guard let value = bytes.littleEndian(at: at, width: 2).map({ UInt16($0) }) else { return nil }
            return swapped ? value.byteSwapped : value
        }
        while offset < bytes.count {
            guard let type = bytes.littleEndian(at: offset, width: 4).map({ UInt32($0) }) else { break }
            if type == 0x0A0D_0D0A {
                // A section header: its byte-order magic decides how everything up to the next one reads.
                guard let order = bytes.littleEndian(at: offset + 8, width: 4) else { break }
                swapped = order == 0x4D3C_2B1A
                interfaces = []
            }
            guard let length = u32(offset + 4).map(Int.init), length >= 12, length % 4 == 0,
                bytes.bytes(at: offset, count: length) != nil
            else { return (records, "the file is cut short in block at byte \(offset)") }
            let body = offset + 8
            switch swapped ? type.byteSwapped : type {
            case 0x0A0D_0D0A, 0x0D0D_0A0A: break
            case 1:  // interface description: link type, then options (if_tsresol = 9)
                let link = u16(body).flatMap { LinkType(number: UInt32($0)) }
                var units: Int64 = 1_000_000
                var option = body + 8
                while option + 4 <= offset + length - 4, let code = u16(option), let size = u16(option + 2), code != 0 {
                    if code == 9, let resolution = bytes.byte(at: option + 4) {
                        let exponent = Int64(resolution & 0x7F)
                        units = resolution & 0x80 == 0 ? Int64(pow10(exponent)) : Int64(1) << min(exponent, 62)
                    }
                    option += 4 + Netlink.aligned(Int(size))
                }
                interfaces.append((link, max(units, 1)))
            case 6, 2:  // enhanced packet (and the obsolete packet block, the same but a 16-bit interface id)
                let enhanced = (swapped ? type.byteSwapped : type) == 6
                guard let interface = enhanced ? u32(body).map(Int.init) : u16(body).map(Int.init),
                    let high = u32(body + 4), let low = u32(body + 8), let captured = u32(body + 12),
                    let wire = u32(body + 16), interface < interfaces.count,
                    let data = bytes.bytes(at: body + 20, count: Int(captured)),
                    body + 20 + Int(captured) <= offset + length
                else { return (records, "a packet block at byte \(offset) does not make sense") }
                guard let linkType = interfaces[interface].linkType else {
                    return (records, "interface \(interface) has a link type trace does not read")
                }
                let ticks = Int64(high) << 32 | Int64(low)
                let timestamp = nanoseconds(ticks: ticks, unitsPerSecond: interfaces[interface].unitsPerSecond)
                records.append(
                    CaptureRecord(timestamp: timestamp, wireLength: Int(wire), linkType: linkType, bytes: data)
                )
            case 3:  // simple packet: no interface id (the first), no timestamp
                guard let wire = u32(body), let first = interfaces.first, let linkType = first.linkType else {
                    return (records, "a simple packet block at byte \(offset) without an interface")
                }
                let data =
                    bytes.bytes(at: body + 4, count: max(0, min(Int(wire), offset + length - 4 - (body + 4)))) ?? []
                records.append(CaptureRecord(timestamp: 0, wireLength: Int(wire), linkType: linkType, bytes: data))
            default: break  // statistics, name resolution, custom blocks: nothing trace shows
            }
            offset += length
        }
        return (records, nil)
    }

    /// Ticks of 1/units s as nanoseconds. Wrapping: a file may claim any count, and none may trap the reader.
    static func nanoseconds(ticks: Int64, unitsPerSecond units: Int64) -> Int64 {
        let whole = (ticks / units) &* 1_000_000_000
        let rest = ticks % units
        if units <= 1_000_000_000 && 1_000_000_000 % units == 0 { return whole &+ rest * (1_000_000_000 / units) }
        return whole &+ Int64(Double(rest) / Double(units) * 1e9)
    }

    private static func pow10(_ exponent: Int64) -> Int64 {
        var value: Int64 = 1
        for _ in 0..<min(exponent, 18) { value *= 10 }
        return value
    }
}
