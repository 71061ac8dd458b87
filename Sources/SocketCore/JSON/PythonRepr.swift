// PythonRepr.swift -- Python's repr() and str() of parsed JSON, for the guide's log lines
// (`Received request {'action': 'search', 'value': 'morpheus'}`) and its answers (`No match for '5'.`).

/// What Python would print for a value json.loads produced.
public enum PythonRepr {
    /// `repr(value)`: `None`, `True`, `'text'`, `[1, 'a']`, `{'k': 'v'}`.
    public static func repr(_ value: JSONValue) -> String {
        switch value {
        case .null: return "None"
        case .bool(let flag): return flag ? "True" : "False"
        case .number(let text, let isInteger): return isInteger ? integer(text) : float(text)
        case .string(let text): return string(text)
        case .array(let elements): return "[" + elements.map(repr).joined(separator: ", ") + "]"
        case .object(let members):
            return "{" + members.map { string($0.key) + ": " + repr($0.value) }.joined(separator: ", ") + "}"
        }
    }

    /// `str(value)`: like repr, but a string is itself (what an f-string inserts).
    public static func str(_ value: JSONValue) -> String {
        if case .string(let text) = value { return text }
        return repr(value)
    }

    /// Python's int(): "-0" is 0; everything else prints as written.
    private static func integer(_ text: String) -> String {
        text == "-0" ? "0" : text
    }

    /// Python's float repr (the shortest text that round-trips, like Swift's), with Python's spellings.
    private static func float(_ text: String) -> String {
        guard let value = Double(text) else { return text }
        if value.isInfinite { return value < 0 ? "-inf" : "inf" }
        var printed = "\(value)"
        // Swift writes 1e-05 and 1e+16 like Python; it differs only in dropping ".0" after an exponent-free
        // integral value in some forms, which Python always keeps.
        if !printed.contains(".") && !printed.contains("e") && !printed.contains("n") { printed += ".0" }
        return printed
    }

    /// `repr(text)`: single quotes unless the text has a ' and no ", escapes as Python writes them.
    public static func string(_ text: String) -> String {
        let quote: Character = text.contains("'") && !text.contains("\"") ? "\"" : "'"
        var result = String(quote)
        for scalar in text.unicodeScalars {
            switch scalar {
            case "\\": result += "\\\\"
            case "\n": result += "\\n"
            case "\r": result += "\\r"
            case "\t": result += "\\t"
            default:
                if Character(scalar) == quote {
                    result += "\\" + String(quote)
                } else if isPrintable(scalar) {
                    result.unicodeScalars.append(scalar)
                } else {
                    result += escaped(scalar)
                }
            }
        }
        result.append(quote)
        return result
    }

    /// Python's str.isprintable() for one code point: not a control, format, surrogate, private-use,
    /// unassigned, or separator character other than the space.
    private static func isPrintable(_ scalar: Unicode.Scalar) -> Bool {
        if scalar == " " { return true }
        switch scalar.properties.generalCategory {
        case .control, .format, .surrogate, .privateUse, .unassigned, .lineSeparator, .paragraphSeparator,
            .spaceSeparator:
            return false
        default:
            return true
        }
    }

    private static func escaped(_ scalar: Unicode.Scalar) -> String {
        let value = scalar.value
        let digits = String(value, radix: 16)
        if value < 0x100 { return "\\x" + String(repeating: "0", count: 2 - digits.count) + digits }
        if value < 0x10000 { return "\\u" + String(repeating: "0", count: 4 - digits.count) + digits }
        return "\\U" + String(repeating: "0", count: 8 - digits.count) + digits
    }
}
