// JSONObjectScanner.swift -- walks the members of a JSON object without building a tree, for the hot path
// of the app protocol: the four header keys are matched as bytes, so a valid header costs no allocation
// beyond the strings it keeps.

/// A key of the object being scanned: its raw bytes (between the quotes), decoded only when needed.
struct JSONKey: ~Copyable {
    /// The bytes between the quotes, escapes undecoded.
    let raw: UnsafeRawBufferPointer
    /// True when `raw` contains a backslash, so it must be decoded before comparing.
    let hasEscapes: Bool
    /// The parser position of the opening quote, for decoding and error offsets.
    let offset: Int

    /// True when the key is exactly `literal` (an ASCII name without escapes).
    func matches(_ literal: StaticString) -> Bool {
        guard !hasEscapes, raw.count == literal.utf8CodeUnitCount else { return false }
        let expected = literal.utf8Start
        for index in 0..<raw.count where raw[index] != expected[index] { return false }
        return true
    }
}

extension JSONParser {
    /// What the top level of a document turned out to be.
    enum ScanOutcome {
        /// An object: every member was visited.
        case object
        /// Something else; its Python type name ("list", "int", ...).
        case notObject(String)
    }

    /// Validates `bytes` as one JSON document and, if it is an object, calls `visit` once per member with the
    /// parser positioned at the member's value. `visit` must consume the value, with `parseValue()`,
    /// `parseString()` or `scanNumberToken()`. Duplicate keys are the caller's to detect.
    static func scanObject(
        _ bytes: UnsafeRawBufferPointer,
        maximumDepth: Int,
        visit: (inout JSONParser, borrowing JSONKey) throws(JSONError) -> Void
    ) throws(JSONError) -> ScanOutcome {
        if let bad = UTF8Validation.firstInvalidOffset(in: bytes) {
            throw JSONError(reason: "invalid UTF-8 (byte 0x\(hexByte(bytes[bad])))", offset: bad)
        }
        var parser = JSONParser(bytes, maximumDepth: maximumDepth)
        parser.skipWhitespace()
        guard parser.peek(UInt8(ascii: "{")) else {
            let value = try parser.parseValue()
            parser.skipWhitespace()
            guard parser.position == bytes.count else { throw parser.error("extra data after the JSON value") }
            return .notObject(value.pythonTypeName)
        }
        try parser.enterContainer()
        parser.position += 1
        parser.skipWhitespace()
        if parser.peek(UInt8(ascii: "}")) {
            parser.position += 1
        } else {
            while true {
                parser.skipWhitespace()
                guard parser.peek(UInt8(ascii: "\"")) else {
                    throw parser.error("expected a string key in double quotes")
                }
                let key = try parser.scanKey()
                parser.skipWhitespace()
                guard parser.peek(UInt8(ascii: ":")) else { throw parser.error("expected ':' after an object key") }
                parser.position += 1
                parser.skipWhitespace()
                try visit(&parser, key)
                parser.skipWhitespace()
                if parser.peek(UInt8(ascii: ",")) {
                    parser.position += 1
                    continue
                }
                guard parser.peek(UInt8(ascii: "}")) else { throw parser.error("expected ',' or '}' in an object") }
                parser.position += 1
                break
            }
        }
        parser.skipWhitespace()
        guard parser.position == bytes.count else { throw parser.error("extra data after the JSON value") }
        return .object
    }

    /// Reads a key's raw bytes; validates its escapes by decoding only when it has any.
    private mutating func scanKey() throws(JSONError) -> JSONKey {
        let start = position
        var index = position + 1
        var hasEscapes = false
        while index < bytes.count {
            let byte = bytes[index]
            if byte == UInt8(ascii: "\"") {
                position = index + 1
                return JSONKey(
                    raw: UnsafeRawBufferPointer(rebasing: bytes[start + 1..<index]),
                    hasEscapes: false,
                    offset: start
                )
            }
            if byte == UInt8(ascii: "\\") {
                hasEscapes = true
                break
            }
            if byte < 0x20 {
                position = index
                throw error("control character \(describe(byte)) in a string")
            }
            index += 1
        }
        // Escaped (or unterminated): let the full string parser validate it, then remember where it was.
        _ = try parseString()
        return JSONKey(
            raw: UnsafeRawBufferPointer(rebasing: bytes[start + 1..<position - 1]),
            hasEscapes: hasEscapes,
            offset: start
        )
    }

    /// If the bytes at the current position are exactly `literal` (a complete JSON token, e.g. `"utf-8"`),
    /// moves past them and returns true.
    mutating func consume(quoted literal: StaticString) -> Bool {
        let count = literal.utf8CodeUnitCount
        guard bytes.count - position >= count else { return false }
        let expected = literal.utf8Start
        for index in 0..<count where bytes[position + index] != expected[index] { return false }
        position += count
        return true
    }

    /// Decodes a key that has escapes (rare: only for comparison and duplicate detection).
    func decodeKey(_ key: borrowing JSONKey) -> String {
        var copy = JSONParser(bytes, maximumDepth: 1)
        copy.position = key.offset
        return (try? copy.parseString()) ?? ""
    }

    /// The raw text of a number at the current position, validated, and whether it is an integer token.
    /// Anything that is not a number is parsed (and validated) as a value and reported as nil.
    mutating func scanNumberToken() throws(JSONError) -> (text: UnsafeRawBufferPointer, isInteger: Bool)? {
        guard position < bytes.count, bytes[position] == UInt8(ascii: "-") || isDigit(bytes[position]) else {
            _ = try parseValue()
            return nil
        }
        let start = position
        guard case .number(_, let isInteger) = try parseValue() else { return nil }
        return (UnsafeRawBufferPointer(rebasing: bytes[start..<position]), isInteger)
    }

    /// The type of the value at the current position, parsed and discarded (for error messages).
    mutating func skipValueReturningType() throws(JSONError) -> String {
        try parseValue().pythonTypeName
    }
}
