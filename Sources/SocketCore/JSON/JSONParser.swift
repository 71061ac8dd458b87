// JSONParser.swift -- a strict RFC 8259 parser for bytes from the network: valid UTF-8 only, bounded
// nesting, duplicate keys rejected, lone surrogates rejected, and every error with its byte offset.

/// Why a document is not acceptable JSON.
public struct JSONError: Error, Sendable, Equatable, CustomStringConvertible {
    /// What is wrong, e.g. "expected ':' after an object key".
    public let reason: String
    /// Byte offset in the document where it went wrong.
    public let offset: Int

    public var description: String { "\(reason) at byte \(offset)" }
}

/// Parses JSON text. Accepts exactly RFC 8259 (no NaN/Infinity, no comments, no trailing commas).
public struct JSONParser: ~Copyable {
    /// Nesting deeper than this is refused (a stack-depth attack otherwise).
    public static let defaultMaximumDepth = 32

    let bytes: UnsafeRawBufferPointer
    var position = 0
    private var depth = 0
    private let maximumDepth: Int

    init(_ bytes: UnsafeRawBufferPointer, maximumDepth: Int) {
        self.bytes = bytes
        self.maximumDepth = maximumDepth
    }

    /// Parses one JSON document that must fill `bytes` (whitespace around it allowed).
    ///
    /// - Throws: `JSONError` naming the first problem and where it is.
    public static func parse(
        _ bytes: UnsafeRawBufferPointer,
        maximumDepth: Int = defaultMaximumDepth,
        knownValidUTF8: Bool = false
    ) throws(JSONError) -> JSONValue {
        if !knownValidUTF8, let bad = UTF8Validation.firstInvalidOffset(in: bytes) {
            throw JSONError(reason: "invalid UTF-8 (byte 0x\(hexByte(bytes[bad])))", offset: bad)
        }
        var parser = JSONParser(bytes, maximumDepth: maximumDepth)
        parser.skipWhitespace()
        let value = try parser.parseValue()
        parser.skipWhitespace()
        guard parser.position == bytes.count else { throw parser.error("extra data after the JSON value") }
        return value
    }

    /// Parses a JSON document held in an array.
    ///
    /// - Parameter knownValidUTF8: The caller already checked the encoding: skip the second pass.
    public static func parse(
        _ bytes: [UInt8],
        maximumDepth: Int = defaultMaximumDepth,
        knownValidUTF8: Bool = false
    ) throws(JSONError) -> JSONValue {
        let result = bytes.withUnsafeBytes { buffer in
            Result { () throws(JSONError) in
                try parse(buffer, maximumDepth: maximumDepth, knownValidUTF8: knownValidUTF8)
            }
        }
        return try result.get()
    }

    // MARK: - Grammar

    mutating func parseValue() throws(JSONError) -> JSONValue {
        guard position < bytes.count else { throw error(bytes.isEmpty ? "empty document" : "unexpected end of data") }
        switch bytes[position] {
        case UInt8(ascii: "{"): return try parseObject()
        case UInt8(ascii: "["): return try parseArray()
        case UInt8(ascii: "\""): return .string(try parseString())
        case UInt8(ascii: "t"): return try parseLiteral("true", .bool(true))
        case UInt8(ascii: "f"): return try parseLiteral("false", .bool(false))
        case UInt8(ascii: "n"): return try parseLiteral("null", .null)
        case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"): return try parseNumber()
        default: throw error("unexpected character \(describe(bytes[position]))")
        }
    }

    private mutating func parseObject() throws(JSONError) -> JSONValue {
        try enterContainer()
        position += 1  // {
        var members: [JSONMember] = []
        skipWhitespace()
        if peek(UInt8(ascii: "}")) {
            position += 1
            depth -= 1
            return .object(members)
        }
        members.reserveCapacity(4)
        /// Keys seen, once the object is too large for a linear search to stay cheap: a peer must not be able
        /// to make duplicate detection quadratic.
        var keys: Set<String>?
        while true {
            skipWhitespace()
            guard peek(UInt8(ascii: "\"")) else { throw error("expected a string key in double quotes") }
            let keyOffset = position
            let key = try parseString()
            let isDuplicate: Bool
            if members.count < 8 {
                isDuplicate = members.contains { $0.key == key }
            } else {
                if keys == nil { keys = Set(members.map(\.key)) }
                isDuplicate = !keys!.insert(key).inserted
            }
            if isDuplicate {
                throw JSONError(reason: "duplicate key \(PythonRepr.string(key))", offset: keyOffset)
            }
            skipWhitespace()
            guard peek(UInt8(ascii: ":")) else { throw error("expected ':' after an object key") }
            position += 1
            skipWhitespace()
            members.append(JSONMember(key, try parseValue()))
            skipWhitespace()
            if peek(UInt8(ascii: ",")) {
                position += 1
                continue
            }
            guard peek(UInt8(ascii: "}")) else { throw error("expected ',' or '}' in an object") }
            position += 1
            depth -= 1
            return .object(members)
        }
    }

    private mutating func parseArray() throws(JSONError) -> JSONValue {
        try enterContainer()
        position += 1  // [
        var elements: [JSONValue] = []
        skipWhitespace()
        if peek(UInt8(ascii: "]")) {
            position += 1
            depth -= 1
            return .array(elements)
        }
        while true {
            skipWhitespace()
            elements.append(try parseValue())
            skipWhitespace()
            if peek(UInt8(ascii: ",")) {
                position += 1
                continue
            }
            guard peek(UInt8(ascii: "]")) else { throw error("expected ',' or ']' in an array") }
            position += 1
            depth -= 1
            return .array(elements)
        }
    }

    mutating func enterContainer() throws(JSONError) {
        depth += 1
        if depth > maximumDepth { throw error("nesting deeper than \(maximumDepth) levels") }
    }

    private mutating func parseLiteral(_ word: StaticString, _ value: JSONValue) throws(JSONError) -> JSONValue {
        let count = word.utf8CodeUnitCount
        let expected = UnsafeBufferPointer(start: word.utf8Start, count: count)
        guard bytes.count - position >= count, bytes[position..<position + count].elementsEqual(expected) else {
            throw error("unexpected character \(describe(bytes[position]))")
        }
        position += count
        return value
    }

    private mutating func parseNumber() throws(JSONError) -> JSONValue {
        let start = position
        if peek(UInt8(ascii: "-")) { position += 1 }
        guard position < bytes.count, isDigit(bytes[position]) else { throw error("expected a digit") }
        if bytes[position] == UInt8(ascii: "0") {
            position += 1
            if position < bytes.count && isDigit(bytes[position]) { throw error("leading zero in a number") }
        } else {
            while position < bytes.count && isDigit(bytes[position]) { position += 1 }
        }
        var isInteger = true
        if peek(UInt8(ascii: ".")) {
            position += 1
            guard position < bytes.count, isDigit(bytes[position]) else { throw error("expected a digit after '.'") }
            while position < bytes.count && isDigit(bytes[position]) { position += 1 }
            isInteger = false
        }
        if peek(UInt8(ascii: "e")) || peek(UInt8(ascii: "E")) {
            position += 1
            if peek(UInt8(ascii: "+")) || peek(UInt8(ascii: "-")) { position += 1 }
            guard position < bytes.count, isDigit(bytes[position]) else {
                throw error("expected a digit in the exponent")
            }
            while position < bytes.count && isDigit(bytes[position]) { position += 1 }
            isInteger = false
        }
        let text = String(decoding: UnsafeRawBufferPointer(rebasing: bytes[start..<position]), as: UTF8.self)
        return .number(text: text, isInteger: isInteger)
    }

    /// Parses a string at `position` (which holds the opening quote).
    mutating func parseString() throws(JSONError) -> String {
        position += 1
        let start = position
        // Fast path: no escapes, so the bytes (already valid UTF-8) are the string.
        while position < bytes.count {
            let byte = bytes[position]
            if byte == UInt8(ascii: "\"") {
                let text = String(decoding: UnsafeRawBufferPointer(rebasing: bytes[start..<position]), as: UTF8.self)
                position += 1
                return text
            }
            if byte == UInt8(ascii: "\\") { break }
            if byte < 0x20 { throw error("control character \(describe(byte)) in a string") }
            position += 1
        }
        var decoded = [UInt8](UnsafeRawBufferPointer(rebasing: bytes[start..<position]))
        while position < bytes.count {
            let byte = bytes[position]
            if byte == UInt8(ascii: "\"") {
                position += 1
                return String(decoding: decoded, as: UTF8.self)
            }
            if byte < 0x20 { throw error("control character \(describe(byte)) in a string") }
            if byte != UInt8(ascii: "\\") {
                decoded.append(byte)
                position += 1
                continue
            }
            position += 1
            guard position < bytes.count else { break }
            let escape = bytes[position]
            position += 1
            switch escape {
            case UInt8(ascii: "\""), UInt8(ascii: "\\"), UInt8(ascii: "/"): decoded.append(escape)
            case UInt8(ascii: "b"): decoded.append(0x08)
            case UInt8(ascii: "f"): decoded.append(0x0C)
            case UInt8(ascii: "n"): decoded.append(0x0A)
            case UInt8(ascii: "r"): decoded.append(0x0D)
            case UInt8(ascii: "t"): decoded.append(0x09)
            case UInt8(ascii: "u"): appendUTF8(of: try parseUnicodeEscape(), to: &decoded)
            default:
                position -= 1
                throw error("invalid escape '\\\(describeRaw(escape))'")
            }
        }
        throw error("unterminated string")
    }

    /// Parses the XXXX of `\uXXXX` (and a following low surrogate escape when XXXX is a high surrogate).
    private mutating func parseUnicodeEscape() throws(JSONError) -> Unicode.Scalar {
        let escapeStart = position - 2
        let unit = try parseHex4()
        if (0xD800...0xDBFF).contains(unit) {
            guard bytes.count - position >= 6, bytes[position] == UInt8(ascii: "\\"),
                bytes[position + 1] == UInt8(ascii: "u")
            else { throw JSONError(reason: "lone surrogate \\u\(hex4(unit))", offset: escapeStart) }
            position += 2
            let low = try parseHex4()
            guard (0xDC00...0xDFFF).contains(low) else {
                throw JSONError(reason: "lone surrogate \\u\(hex4(unit))", offset: escapeStart)
            }
            return Unicode.Scalar(0x10000 + ((unit - 0xD800) << 10) + (low - 0xDC00))!
        }
        guard let scalar = Unicode.Scalar(unit) else {
            throw JSONError(reason: "lone surrogate \\u\(hex4(unit))", offset: escapeStart)
        }
        return scalar
    }

    private mutating func parseHex4() throws(JSONError) -> UInt32 {
        guard bytes.count - position >= 4 else { throw error("expected 4 hex digits after \\u") }
        var value: UInt32 = 0
        for _ in 0..<4 {
            let byte = bytes[position]
            let digit: UInt32
            switch byte {
            case UInt8(ascii: "0")...UInt8(ascii: "9"): digit = UInt32(byte - UInt8(ascii: "0"))
            case UInt8(ascii: "a")...UInt8(ascii: "f"): digit = UInt32(byte - UInt8(ascii: "a") + 10)
            case UInt8(ascii: "A")...UInt8(ascii: "F"): digit = UInt32(byte - UInt8(ascii: "A") + 10)
            default: throw error("expected 4 hex digits after \\u")
            }
            value = value << 4 | digit
            position += 1
        }
        return value
    }

    // MARK: - Helpers

    mutating func skipWhitespace() {
        while position < bytes.count {
            switch bytes[position] {
            case 0x20, 0x09, 0x0A, 0x0D: position += 1
            default: return
            }
        }
    }

    @inline(__always)
    func peek(_ byte: UInt8) -> Bool { position < bytes.count && bytes[position] == byte }

    @inline(__always)
    func isDigit(_ byte: UInt8) -> Bool { byte >= UInt8(ascii: "0") && byte <= UInt8(ascii: "9") }

    func error(_ reason: String) -> JSONError { JSONError(reason: reason, offset: position) }

    func describe(_ byte: UInt8) -> String {
        byte >= 0x20 && byte < 0x7F ? "'\(describeRaw(byte))'" : "0x\(hexByte(byte))"
    }

    private func describeRaw(_ byte: UInt8) -> String {
        byte >= 0x20 && byte < 0x7F ? String(UnicodeScalar(byte)) : "\\x\(hexByte(byte))"
    }

    private func hex4(_ value: UInt32) -> String {
        let digits = String(value, radix: 16)
        return String(repeating: "0", count: max(0, 4 - digits.count)) + digits
    }
}

private func appendUTF8(of scalar: Unicode.Scalar, to bytes: inout [UInt8]) {
    UTF8.encode(scalar) { bytes.append($0) }
}

/// Two lowercase hex digits.
func hexByte(_ byte: UInt8) -> String {
    let digits: [Character] = ["0", "1", "2", "3", "4", "5", "6", "7", "8", "9", "a", "b", "c", "d", "e", "f"]
    return String([digits[Int(byte >> 4)], digits[Int(byte & 0xF)]])
}
