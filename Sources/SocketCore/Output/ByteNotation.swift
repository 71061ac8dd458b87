// ByteNotation.swift -- bytes in the guide's `b'...'` notation, cut to a length with a marker.

/// Python's bytes repr, as the guide prints payloads.
public enum ByteNotation {
    /// How many payload bytes a log line shows before it cuts.
    public static let defaultLimit = 100

    /// `b'Hello, world'`: printable ASCII as is, `\n` `\r` `\t` `\\` `\'` escaped, everything else `\xNN`;
    /// `b"it's"` when the bytes hold a `'` and no `"`, as Python chooses its quote (then `'` needs no escape).
    /// Past `limit` bytes it is cut after the closing quote with `... (N bytes)`: the start of Python's repr.
    public static func format(_ bytes: UnsafeRawBufferPointer, limit: Int = defaultLimit) -> String {
        var text: [UInt8] = []
        append(bytes, limit: limit, to: &text)
        return String(decoding: text, as: UTF8.self)
    }

    /// Appends `b'...'` of `bytes` to `output` (see `format`).
    public static func append(_ bytes: UnsafeRawBufferPointer, limit: Int = defaultLimit, to output: inout [UInt8]) {
        let shown = Swift.min(bytes.count, limit)
        let quote = pythonQuote(for: bytes)
        output.append(maximumCount: shown * 4 + 3 + 4) { out in
            out[0] = UInt8(ascii: "b")
            out[1] = quote
            var used = 2
            (quote == UInt8(ascii: "'") ? escapeTable : doubleQuotedEscapeTable).withUnsafeBufferPointer { table in
                for index in 0..<shown {
                    // Store all four bytes of the escape (the slack is overwritten or cut), advance by its length.
                    let entry = table[Int(bytes[index])]
                    UnsafeMutableRawPointer(out + used).storeBytes(
                        of: UInt32(truncatingIfNeeded: entry).littleEndian,
                        as: UInt32.self
                    )
                    used += Int(entry >> 32)
                }
            }
            out[used] = quote
            return used + 1
        }
        if bytes.count > limit {
            output.append(literal: "... (")
            FrameEncoder.appendDecimal(bytes.count, to: &output)
            output.append(literal: " bytes)")
        }
    }

    /// Python's quote for a bytes repr: `"` when the bytes hold a `'` and no `"`, else `'`. Decided on all
    /// the bytes, not only the part shown, so a cut line still begins exactly as Python's repr; the scan stops
    /// at the first `"`, which settles it.
    static func pythonQuote(for bytes: UnsafeRawBufferPointer) -> UInt8 {
        var hasSingle = false
        for byte in bytes {
            if byte == UInt8(ascii: "\"") { return UInt8(ascii: "'") }
            if byte == UInt8(ascii: "'") { hasSingle = true }
        }
        return hasSingle ? UInt8(ascii: "\"") : UInt8(ascii: "'")
    }

    /// `b'...'` of an array.
    public static func format(_ bytes: [UInt8], limit: Int = defaultLimit) -> String {
        bytes.withUnsafeBytes { format($0, limit: limit) }
    }

    /// Makes peer-supplied text safe for a one-line log: control characters (C0, DEL, C1) become `\xNN`, so
    /// nothing a peer sends can break a line or drive the terminal; the line and paragraph separators
    /// (U+2028, U+2029, which line-splitting log readers treat as line ends) and the bidirectional overrides
    /// become `\uNNNN`, so none can fake a line or make one read other than it is; printable text, quotes and
    /// non-ASCII stay as they are. Cut at `limit` characters with "...".
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
            } else if (0x2028...0x202E).contains(scalar.value) || (0x2066...0x2069).contains(scalar.value) {
                output += "\\u" + hexByte(UInt8(scalar.value >> 8)) + hexByte(UInt8(scalar.value & 0xFF))
            } else {
                output.unicodeScalars.append(scalar)
            }
        }
        return output
    }

    /// For each byte value: its escape's characters in the low 32 bits (first character lowest), and how
    /// many characters it has (1, 2 or 4) above them.
    private static let escapeTable = table(quote: UInt8(ascii: "'"))
    /// The same inside `b"..."`: `'` as itself (no `"` is ever in such bytes).
    private static let doubleQuotedEscapeTable = table(quote: UInt8(ascii: "\""))

    private static func table(quote: UInt8) -> [UInt64] {
        (0...255).map { value -> UInt64 in
            let byte = UInt8(value)
            let hex = Array("0123456789abcdef".utf8)
            let characters: [UInt8]
            switch byte {
            case UInt8(ascii: "\\"), quote: characters = [UInt8(ascii: "\\"), byte]
            case 0x0A: characters = Array("\\n".utf8)
            case 0x0D: characters = Array("\\r".utf8)
            case 0x09: characters = Array("\\t".utf8)
            case 0x20..<0x7F: characters = [byte]
            default: characters = [UInt8(ascii: "\\"), UInt8(ascii: "x"), hex[Int(byte >> 4)], hex[Int(byte & 0xF)]]
            }
            var entry = UInt64(characters.count) << 32
            for (index, character) in characters.enumerated() { entry |= UInt64(character) << (8 * UInt64(index)) }
            return entry
        }
    }
}
