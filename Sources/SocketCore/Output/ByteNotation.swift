// ByteNotation.swift -- bytes in the guide's `b'...'` notation, cut to a length with a marker.

/// Python's bytes repr, as the guide prints payloads.
public enum ByteNotation {
    /// How many payload bytes a log line shows before it cuts.
    public static let defaultLimit = 100

    /// `b'Hello, world'`: printable ASCII as is, `\n` `\r` `\t` `\\` `\'` escaped, everything else `\xNN`.
    /// Past `limit` bytes the text ends in `'... (N bytes)`.
    public static func format(_ bytes: UnsafeRawBufferPointer, limit: Int = defaultLimit) -> String {
        var text: [UInt8] = [UInt8(ascii: "b"), UInt8(ascii: "'")]
        text.reserveCapacity(min(bytes.count, limit) + 24)
        for byte in bytes.prefix(limit) { appendEscaped(byte, to: &text) }
        text.append(UInt8(ascii: "'"))
        if bytes.count > limit { text.append(contentsOf: "... (\(bytes.count) bytes)".utf8) }
        return String(decoding: text, as: UTF8.self)
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

    @inline(__always)
    private static func appendEscaped(_ byte: UInt8, to text: inout [UInt8]) {
        switch byte {
        case UInt8(ascii: "\\"): text.append(contentsOf: [UInt8(ascii: "\\"), UInt8(ascii: "\\")])
        case UInt8(ascii: "'"): text.append(contentsOf: [UInt8(ascii: "\\"), UInt8(ascii: "'")])
        case 0x0A: text.append(contentsOf: [UInt8(ascii: "\\"), UInt8(ascii: "n")])
        case 0x0D: text.append(contentsOf: [UInt8(ascii: "\\"), UInt8(ascii: "r")])
        case 0x09: text.append(contentsOf: [UInt8(ascii: "\\"), UInt8(ascii: "t")])
        case 0x20..<0x7F: text.append(byte)
        default:
            text.append(contentsOf: [UInt8(ascii: "\\"), UInt8(ascii: "x")])
            text.append(contentsOf: hexByte(byte).utf8)
        }
    }
}
