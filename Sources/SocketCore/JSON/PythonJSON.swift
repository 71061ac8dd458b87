// PythonJSON.swift -- writes JSON byte for byte as Python's `json.dumps(obj, ensure_ascii=False)` does:
// ", " and ": " separators, members in order, non-ASCII as raw UTF-8, and Python's string escapes.

/// The guide's JSON encoder, reproduced exactly.
public enum PythonJSON {
    /// Appends `text` as a JSON string: `\"` `\\` `\b` `\f` `\n` `\r` `\t`, other control characters as
    /// lowercase `\u00XX`; DEL, U+2028 and all non-ASCII go raw.
    ///
    /// - Parameter terminalSafe: Also escape DEL and the C1 controls (U+0080-U+009F), which Python leaves
    ///   raw but a terminal may act on, and U+2028/U+2029, which line-splitting readers take for line ends:
    ///   for log lines carrying a peer's text, never for the wire.
    public static func appendString(_ text: String, to output: inout [UInt8], terminalSafe: Bool = false) {
        output.append(UInt8(ascii: "\""))
        // Native strings hand out their UTF-8 without a copy; others (bridged, rare) are copied once.
        let appended: Void? = text.utf8.withContiguousStorageIfAvailable {
            appendEscaped($0, to: &output, terminalSafe: terminalSafe)
        }
        if appended == nil {
            let copy = Array(text.utf8)
            copy.withUnsafeBufferPointer { appendEscaped($0, to: &output, terminalSafe: terminalSafe) }
        }
        output.append(UInt8(ascii: "\""))
    }

    /// Copies runs of plain bytes in one go and escapes the rest.
    private static func appendEscaped(
        _ utf8: UnsafeBufferPointer<UInt8>,
        to output: inout [UInt8],
        terminalSafe: Bool
    ) {
        var runStart = 0
        var index = 0
        while index < utf8.count {
            let byte = utf8[index]
            if byte < 0x20 || byte == UInt8(ascii: "\"") || byte == UInt8(ascii: "\\") {
                output.append(contentsOf: UnsafeBufferPointer(rebasing: utf8[runStart..<index]))
                appendEscape(for: byte, to: &output)
                runStart = index + 1
            } else if terminalSafe
                && (byte == 0x7F || (byte == 0xC2 && index + 1 < utf8.count && utf8[index + 1] < 0xA0))
            {
                // DEL, or C2 80...C2 9F: the UTF-8 of U+0080...U+009F (a valid string has a continuation byte here).
                let control = byte == 0x7F ? byte : utf8[index + 1]
                output.append(contentsOf: UnsafeBufferPointer(rebasing: utf8[runStart..<index]))
                output.append(contentsOf: Array("\\u00".utf8))
                output.append(contentsOf: Array(hexByte(control).utf8))
                index += byte == 0x7F ? 0 : 1
                runStart = index + 1
            } else if terminalSafe && byte == 0xE2 && index + 2 < utf8.count && utf8[index + 1] == 0x80
                && (utf8[index + 2] == 0xA8 || utf8[index + 2] == 0xA9)
            {
                // E2 80 A8 and E2 80 A9: U+2028 LINE SEPARATOR and U+2029 PARAGRAPH SEPARATOR.
                output.append(contentsOf: UnsafeBufferPointer(rebasing: utf8[runStart..<index]))
                output.append(contentsOf: Array((utf8[index + 2] == 0xA8 ? "\\u2028" : "\\u2029").utf8))
                index += 2
                runStart = index + 1
            }
            index += 1
        }
        output.append(contentsOf: UnsafeBufferPointer(rebasing: utf8[runStart..<utf8.count]))
    }

    private static func appendEscape(for byte: UInt8, to output: inout [UInt8]) {
        output.append(UInt8(ascii: "\\"))
        switch byte {
        case UInt8(ascii: "\""): output.append(UInt8(ascii: "\""))
        case UInt8(ascii: "\\"): output.append(UInt8(ascii: "\\"))
        case 0x08: output.append(UInt8(ascii: "b"))
        case 0x0C: output.append(UInt8(ascii: "f"))
        case 0x0A: output.append(UInt8(ascii: "n"))
        case 0x0D: output.append(UInt8(ascii: "r"))
        case 0x09: output.append(UInt8(ascii: "t"))
        default:
            output.append(contentsOf: Array("u00".utf8))
            output.append(contentsOf: Array(hexByte(byte).utf8))
        }
    }

    /// Appends any value as `json.dumps(value, ensure_ascii=False)` writes it. Numbers keep their source text,
    /// which is what Python prints for integers; floats are printed as parsed (Python would
    /// print `1.50` as `1.5`; sockettool only encodes strings and integers on the wire).
    public static func append(_ value: JSONValue, to output: inout [UInt8], terminalSafe: Bool = false) {
        switch value {
        case .null: output.append(contentsOf: Array("null".utf8))
        case .bool(let flag): output.append(contentsOf: Array((flag ? "true" : "false").utf8))
        case .number(let text, _): output.append(contentsOf: Array(text.utf8))
        case .string(let text): appendString(text, to: &output, terminalSafe: terminalSafe)
        case .array(let elements):
            output.append(UInt8(ascii: "["))
            for (index, element) in elements.enumerated() {
                if index > 0 { output.append(contentsOf: [UInt8(ascii: ","), UInt8(ascii: " ")]) }
                append(element, to: &output, terminalSafe: terminalSafe)
            }
            output.append(UInt8(ascii: "]"))
        case .object(let members):
            output.append(UInt8(ascii: "{"))
            for (index, member) in members.enumerated() {
                if index > 0 { output.append(contentsOf: [UInt8(ascii: ","), UInt8(ascii: " ")]) }
                appendString(member.key, to: &output, terminalSafe: terminalSafe)
                output.append(contentsOf: [UInt8(ascii: ":"), UInt8(ascii: " ")])
                append(member.value, to: &output, terminalSafe: terminalSafe)
            }
            output.append(UInt8(ascii: "}"))
        }
    }

    /// `json.dumps(value, ensure_ascii=False)` as bytes; `terminalSafe` as in `appendString`.
    public static func encode(_ value: JSONValue, terminalSafe: Bool = false) -> [UInt8] {
        var output: [UInt8] = []
        append(value, to: &output, terminalSafe: terminalSafe)
        return output
    }
}
