// ByteNotation.swift -- bytes in the guide's `b'...'` notation, cut to a length with a marker.

/// Python's bytes repr, as the guide prints payloads.
public enum ByteNotation {
    /// How many payload bytes a log line shows before it cuts.
    public static let defaultLimit = 100

    /// `b'Hello, world'`: printable ASCII as is, `\n` `\r` `\t` `\\` `\'` escaped, everything else `\xNN`.
    /// Past `limit` bytes the text ends in `'... (N bytes)`.
    public static func format(_ bytes: UnsafeRawBufferPointer, limit: Int = defaultLimit) -> String {
        var text: [UInt8] = []
        append(bytes, limit: limit, to: &text)
        return String(decoding: text, as: UTF8.self)
    }

    /// Appends `b'...'` of `bytes` to `output` (see `format`).
    public static func append(_ bytes: UnsafeRawBufferPointer, limit: Int = defaultLimit, to output: inout [UInt8]) {
        output.reserveCapacity(output.count + min(bytes.count, limit) * 2 + 24)
        output.append(UInt8(ascii: "b"))
        output.append(UInt8(ascii: "'"))
        for index in 0..<Swift.min(bytes.count, limit) { appendEscaped(bytes[index], to: &output) }
        output.append(UInt8(ascii: "'"))
        if bytes.count > limit {
            output.append(literal: "... (")
            FrameEncoder.appendDecimal(bytes.count, to: &output)
            output.append(literal: " bytes)")
        }
    }

    /// `b'...'` of an array.
    public static func format(_ bytes: [UInt8], limit: Int = defaultLimit) -> String {
        bytes.withUnsafeBytes { format($0, limit: limit) }
    }

    /// Makes peer-supplied text safe for a one-line log: control characters (C0, DEL, C1) become `\xNN`, so
    /// nothing a peer sends can break a line or drive the terminal; printable text, quotes and non-ASCII
    /// stay as they are. Cut at `limit` characters with "...".
    public static func escapeForLog(_ text: String, limit: Int = defaultLimit) -> String {
        var output = ""
        var count = 0
        for scalar in text.unicodeScalars {
            if count == limit {
                output += "..."
                break
            }
            count += 1
            if scalar.value < 0x20 || (0x7F...0x9F).contains(scalar.value) {
                output += "\\x" + hexByte(UInt8(scalar.value))
            } else {
                output.unicodeScalars.append(scalar)
            }
        }
        return output
    }

    private static let hexDigits: [UInt8] = Array("0123456789abcdef".utf8)

    @inline(__always)
    private static func appendEscaped(_ byte: UInt8, to text: inout [UInt8]) {
        switch byte {
        case 0x20..<0x7F where byte != UInt8(ascii: "\\") && byte != UInt8(ascii: "'"): text.append(byte)
        case UInt8(ascii: "\\"), UInt8(ascii: "'"):
            text.append(UInt8(ascii: "\\"))
            text.append(byte)
        case 0x0A, 0x0D, 0x09:
            text.append(UInt8(ascii: "\\"))
            text.append(byte == 0x0A ? UInt8(ascii: "n") : byte == 0x0D ? UInt8(ascii: "r") : UInt8(ascii: "t"))
        default:
            text.append(UInt8(ascii: "\\"))
            text.append(UInt8(ascii: "x"))
            text.append(hexDigits[Int(byte >> 4)])
            text.append(hexDigits[Int(byte & 0xF)])
        }
    }
}
