// HexDump.swift -- bytes as `hexdump -C` shows them: offset, sixteen bytes in hex, the same as ASCII.
// Pure: it formats into a byte buffer and never writes anywhere.
//
//   > sent 17 bytes to 127.0.0.1:65432
//   00000000  48 65 6c 6c 6f 2c 20 77  6f 72 6c 64 0a 41 42 43  |Hello, world.ABC|
//   00000010  44                                                |D|
//
// The offset is the byte's position in its direction's stream (the first byte ever sent is 0), so the
// chunks of one transfer line up as one dump; `>` marks bytes sent, `<` bytes received.

/// The -x / --hexdump format.
public enum HexDump {
    /// Which way a chunk went, seen from this program.
    public enum Direction: String, Sendable {
        case sent, received

        /// `>` for sent, `<` for received (socat -x's markers).
        public var marker: UInt8 { self == .sent ? UInt8(ascii: ">") : UInt8(ascii: "<") }
    }

    /// Bytes per line.
    public static let bytesPerLine = 16

    private static let hexDigits: StaticString = "0123456789abcdef"

    /// Appends the header line "> sent 17 bytes to PEER" (or "< received 5 bytes from PEER") without a
    /// newline.
    public static func appendHeader(
        _ direction: Direction,
        count: Int,
        peer: String,
        to output: inout [UInt8]
    ) {
        output.append(direction.marker)
        output.append(literal: direction == .sent ? " sent " : " received ")
        FrameEncoder.appendDecimal(count, to: &output)
        output.append(literal: count == 1 ? " byte " : " bytes ")
        output.append(literal: direction == .sent ? "to " : "from ")
        output.append(text: peer)
    }

    /// Appends one line per 16 bytes, each ending in a newline: `offset` is the stream position of the
    /// first byte. Offsets have at least 8 hex digits, more past 4 GiB.
    public static func appendLines(_ bytes: UnsafeRawBufferPointer, offset: Int, to output: inout [UInt8]) {
        let digits = offsetDigits(offset + bytes.count)
        // offset, space, " hh" per byte, the halves' space, "  |", the ASCII, "|" and newline.
        let lineLength = digits + 1 + 3 * bytesPerLine + 1 + 3 + bytesPerLine + 2
        let lines = (bytes.count + bytesPerLine - 1) / bytesPerLine
        output.append(maximumCount: lines * lineLength) { out in
            var used = 0
            var start = 0
            while start < bytes.count {
                let count = min(bytesPerLine, bytes.count - start)
                used += writeLine(
                    bytes,
                    from: start,
                    count: count,
                    offset: offset + start,
                    digits: digits,
                    to: out + used
                )
                start += count
            }
            return used
        }
    }

    /// One dump as a String (tests, and callers that print one chunk).
    public static func format(_ bytes: [UInt8], offset: Int = 0) -> String {
        var output: [UInt8] = []
        bytes.withUnsafeBytes { appendLines($0, offset: offset, to: &output) }
        return String(decoding: output, as: UTF8.self)
    }

    /// 8 hex digits up to 4 GiB, then as many as the largest offset needs.
    private static func offsetDigits(_ end: Int) -> Int {
        var digits = 8
        while digits < 16 && end >> (4 * digits) != 0 { digits += 1 }
        return digits
    }

    /// Writes "OOOOOOOO  hh hh ... |ascii|\n"; returns its length.
    @inline(__always)
    private static func writeLine(
        _ bytes: UnsafeRawBufferPointer,
        from start: Int,
        count: Int,
        offset: Int,
        digits: Int,
        to out: UnsafeMutablePointer<UInt8>
    ) -> Int {
        let hex = hexDigits.utf8Start
        var used = 0
        for shift in stride(from: 4 * (digits - 1), through: 0, by: -4) {
            out[used] = hex[(offset >> shift) & 0xF]
            used += 1
        }
        out[used] = UInt8(ascii: " ")
        used += 1
        for index in 0..<bytesPerLine {
            // An extra space between the two halves of the line, as hexdump -C.
            if index == 8 {
                out[used] = UInt8(ascii: " ")
                used += 1
            }
            out[used] = UInt8(ascii: " ")
            if index < count {
                let byte = bytes[start + index]
                out[used + 1] = hex[Int(byte >> 4)]
                out[used + 2] = hex[Int(byte & 0xF)]
            } else {
                out[used + 1] = UInt8(ascii: " ")
                out[used + 2] = UInt8(ascii: " ")
            }
            used += 3
        }
        out[used] = UInt8(ascii: " ")
        out[used + 1] = UInt8(ascii: " ")
        out[used + 2] = UInt8(ascii: "|")
        used += 3
        for index in 0..<count {
            let byte = bytes[start + index]
            // Printable ASCII as itself; everything else, control characters above all, as a dot.
            out[used] = byte >= 0x20 && byte < 0x7F ? byte : UInt8(ascii: ".")
            used += 1
        }
        out[used] = UInt8(ascii: "|")
        out[used + 1] = UInt8(ascii: "\n")
        return used + 2
    }

    /// The bytes as one lowercase hex string, for the JSON "data" event.
    public static func hexString(_ bytes: UnsafeRawBufferPointer) -> String {
        let hex = hexDigits.utf8Start
        return String(unsafeUninitializedCapacity: bytes.count * 2) { out in
            for (index, byte) in bytes.enumerated() {
                out[2 * index] = hex[Int(byte >> 4)]
                out[2 * index + 1] = hex[Int(byte & 0xF)]
            }
            return bytes.count * 2
        }
    }
}
