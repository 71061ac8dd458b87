// PythonRepr.swift -- Python's repr() and str() of parsed JSON, for the guide's log lines
// (`Received request {'action': 'search', 'value': 'morpheus'}`) and its answers (`No match for '5'.`).
// Written byte by byte, because a server prints one of these per request.

/// What Python would print for a value json.loads produced.
public enum PythonRepr {
    /// `repr(value)`: `None`, `True`, `'text'`, `[1, 'a']`, `{'k': 'v'}`.
    public static func repr(_ value: JSONValue) -> String {
        var output: [UInt8] = []
        append(value, to: &output)
        return String(decoding: output, as: UTF8.self)
    }

    /// `str(value)`: like repr, but a string is itself (what an f-string inserts).
    public static func str(_ value: JSONValue) -> String {
        if case .string(let text) = value { return text }
        return repr(value)
    }

    /// `repr(text)`: single quotes unless the text has a ' and no ", escapes as Python writes them.
    public static func string(_ text: String) -> String {
        var output: [UInt8] = []
        appendString(text, to: &output)
        return String(decoding: output, as: UTF8.self)
    }

    /// Appends `repr(value)`, stopping early (ending in "...") once `output` holds more than `limit` bytes.
    public static func append(_ value: JSONValue, to output: inout [UInt8], limit: Int = .max) {
        if output.count > limit { return }
        switch value {
        case .null: output.append(literal: "None")
        case .bool(let flag): flag ? output.append(literal: "True") : output.append(literal: "False")
        case .number(let text, let isInteger): output.append(text: isInteger ? integer(text) : float(text))
        case .string(let text): appendString(text, to: &output)
        case .array(let elements):
            output.append(UInt8(ascii: "["))
            for (index, element) in elements.enumerated() {
                if index > 0 { output.append(literal: ", ") }
                append(element, to: &output, limit: limit)
                if output.count > limit { return }
            }
            output.append(UInt8(ascii: "]"))
        case .object(let members):
            output.append(UInt8(ascii: "{"))
            for (index, member) in members.enumerated() {
                if index > 0 { output.append(literal: ", ") }
                appendString(member.key, to: &output)
                output.append(literal: ": ")
                append(member.value, to: &output, limit: limit)
                if output.count > limit { return }
            }
            output.append(UInt8(ascii: "}"))
        }
    }

    /// Python's int(): "-0" is 0; everything else prints as written.
    private static func integer(_ text: String) -> String {
        text == "-0" ? "0" : text
    }

    /// Python's float repr: the shortest digits that round-trip (Swift finds the same ones, and lays them
    /// out as Python does: positional, or 'd.ddde+XX' below 1e-4 and from 1e16) with Python's spellings. One
    /// range differs: from 2^53 up to 1e16 Swift writes '9.5e+15', Python '9500000000000000.0'.
    static func float(_ text: String) -> String {
        guard let value = Double(text) else { return text }
        if value.isInfinite { return value < 0 ? "-inf" : "inf" }
        let printed = value.description
        if printed.hasSuffix("e+15") {
            // Doubles this large are integers: the digits, then zeros up to 16 of them.
            let digits = printed.dropLast(4).filter { $0 != "." }
            let sign = digits.hasPrefix("-") ? 1 : 0
            return digits + String(repeating: "0", count: 16 + sign - digits.count) + ".0"
        }
        if !printed.contains(".") && !printed.contains("e") && !printed.contains("n") { return printed + ".0" }
        return printed
    }

    /// Appends `repr(text)`.
    public static func appendString(_ text: String, to output: inout [UInt8]) {
        // One pass over the UTF-8 decides the quote and whether anything needs escaping; plain printable
        // ASCII (the common case) is then copied in one go.
        var hasSingle = false
        var hasDouble = false
        var plain = true
        let copied: Void? = text.utf8.withContiguousStorageIfAvailable { utf8 in
            for byte in utf8 {
                if byte == UInt8(ascii: "'") {
                    hasSingle = true
                } else if byte == UInt8(ascii: "\"") {
                    hasDouble = true
                } else if byte < 0x20 || byte >= 0x7F || byte == UInt8(ascii: "\\") {
                    plain = false
                }
            }
            let quote = hasSingle && !hasDouble ? UInt8(ascii: "\"") : UInt8(ascii: "'")
            guard plain && !(hasSingle && hasDouble) else { return }
            output.append(quote)
            output.append(contentsOf: utf8)
            output.append(quote)
        }
        if copied != nil && plain && !(hasSingle && hasDouble) { return }
        if copied == nil {
            hasSingle = text.utf8.contains(UInt8(ascii: "'"))
            hasDouble = text.utf8.contains(UInt8(ascii: "\""))
        }
        let quote = hasSingle && !hasDouble ? UInt8(ascii: "\"") : UInt8(ascii: "'")
        output.append(quote)
        for scalar in text.unicodeScalars {
            let value = scalar.value
            if value >= 0x20 && value < 0x7F {
                let byte = UInt8(value)
                if byte == UInt8(ascii: "\\") || byte == quote { output.append(UInt8(ascii: "\\")) }
                output.append(byte)
            } else if value == 0x0A || value == 0x0D || value == 0x09 {
                output.append(UInt8(ascii: "\\"))
                output.append(value == 0x0A ? UInt8(ascii: "n") : value == 0x0D ? UInt8(ascii: "r") : UInt8(ascii: "t"))
            } else if value >= 0xA0 && isPrintable(scalar) {
                UTF8.encode(scalar) { output.append($0) }
            } else {
                appendEscape(value, to: &output)
            }
        }
        output.append(quote)
    }

    /// Python's str.isprintable() for one non-ASCII code point: not a control, format, surrogate, private-use,
    /// unassigned, or separator character.
    private static func isPrintable(_ scalar: Unicode.Scalar) -> Bool {
        switch scalar.properties.generalCategory {
        case .control, .format, .surrogate, .privateUse, .unassigned, .lineSeparator, .paragraphSeparator,
            .spaceSeparator:
            return false
        default:
            return true
        }
    }

    /// `\xNN`, `\uNNNN` or `\UNNNNNNNN`, as Python picks by size.
    private static func appendEscape(_ value: UInt32, to output: inout [UInt8]) {
        let digits: Int
        output.append(UInt8(ascii: "\\"))
        if value < 0x100 {
            output.append(UInt8(ascii: "x"))
            digits = 2
        } else if value < 0x10000 {
            output.append(UInt8(ascii: "u"))
            digits = 4
        } else {
            output.append(UInt8(ascii: "U"))
            digits = 8
        }
        for shift in stride(from: (digits - 1) * 4, through: 0, by: -4) {
            let nibble = UInt8((value >> UInt32(shift)) & 0xF)
            output.append(nibble < 10 ? UInt8(ascii: "0") + nibble : UInt8(ascii: "a") + nibble - 10)
        }
    }
}
