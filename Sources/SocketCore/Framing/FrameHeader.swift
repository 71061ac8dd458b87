// FrameHeader.swift -- the JSON header of a message: the four required keys, validated strictly.

/// The byte order a header declares for its content (the 2-byte prefix is always big-endian).
public enum ByteOrder: String, Sendable, CaseIterable {
    case little, big

    /// This machine's order, as Python's `sys.byteorder` names it.
    public static var host: ByteOrder { 1.littleEndian == 1 ? .little : .big }
}

/// A validated JSON header.
public struct FrameHeader: Sendable, Equatable {
    /// "little" or "big": how the sender's machine orders bytes (the guide's `sys.byteorder`).
    public var byteOrder: ByteOrder
    /// e.g. "text/json" or "binary/custom-client-binary-type".
    public var contentType: String
    /// e.g. "utf-8" or "binary".
    public var contentEncoding: String
    /// Bytes of content after the header.
    public var contentLength: Int

    public init(byteOrder: ByteOrder = .host, contentType: String, contentEncoding: String, contentLength: Int) {
        self.byteOrder = byteOrder
        self.contentType = contentType
        self.contentEncoding = contentEncoding
        self.contentLength = contentLength
    }

    /// The content type whose content is a JSON object; every other type is opaque binary.
    public static let jsonContentType = "text/json"

    /// True when the content is JSON (exactly "text/json", as the guide's server compares it).
    public var isJSON: Bool { contentType == Self.jsonContentType }

    /// The header of the guide client's search on a little-endian machine (see `guideSearchHeaderLength`).
    static func guideSearch(contentLength: Int) -> FrameHeader {
        FrameHeader(
            byteOrder: .little,
            contentType: jsonContentType,
            contentEncoding: "utf-8",
            contentLength: contentLength
        )
    }

    /// The keys the guide requires, in the order its server checks them.
    static let requiredKeys = ["byteorder", "content-length", "content-type", "content-encoding"]

    /// Validates a JSON header as received.
    ///
    /// The four required keys are matched as bytes while the JSON is scanned, so the common header costs no
    /// tree and no key strings. Errors come in the guide's order: invalid JSON, then a missing key (in
    /// the order its server checks them), then a bad value.
    ///
    /// - Parameters:
    ///   - bytes: The JSON header, exactly the length the prefix declared.
    ///   - maximumContentLength: Larger declared lengths are refused before any content is read.
    /// - Throws: `FrameError` naming the first problem.
    public init(validating bytes: UnsafeRawBufferPointer, maximumContentLength: Int) throws(FrameError) {
        if let length = Self.guideSearchHeaderLength(bytes), length <= maximumContentLength {
            self = .guideSearch(contentLength: length)
            return
        }
        guard !bytes.isEmpty else { throw .emptyHeader }
        var fields = ScannedFields()
        let outcome: JSONParser.ScanOutcome
        do {
            outcome = try JSONParser.scanObject(bytes, maximumDepth: 16) { parser, key throws(JSONError) in
                try fields.take(key, from: &parser)
            }
        } catch {
            throw .invalidHeader(error)
        }
        if case .notObject(let type) = outcome { throw .headerNotObject(pythonType: type) }
        if let duplicate = fields.duplicate {
            throw .invalidHeader(
                JSONError(reason: "duplicate key \(PythonRepr.string(duplicate.key))", offset: duplicate.offset)
            )
        }
        for (index, key) in Self.requiredKeys.enumerated() where fields.seen & (1 << index) == 0 {
            throw .missingHeader(key)
        }
        guard let order = fields.byteOrder else {
            throw .invalidHeaderValue(key: "byteorder", reason: "must be \"little\" or \"big\"")
        }
        byteOrder = order
        contentLength = try Self.contentLength(fields.contentLength, limit: maximumContentLength)
        guard let type = fields.contentType else {
            throw .invalidHeaderValue(key: "content-type", reason: "must be a string")
        }
        contentType = type
        guard let encoding = fields.contentEncoding else {
            throw .invalidHeaderValue(key: "content-encoding", reason: "must be a string")
        }
        contentEncoding = encoding
        if type == Self.jsonContentType && TextEncoding(name: encoding) == nil { throw .unsupportedEncoding(encoding) }
    }

    /// The header the guide's client writes for every search on a little-endian machine, up to the length.
    private static let guideSearchHeaderPrefix: StaticString =
        #"{"byteorder": "little", "content-type": "text/json", "content-encoding": "utf-8", "content-length": "#

    /// The content length when `bytes` are exactly the guide's search header (the prefix, a plain integer of
    /// at most 18 digits without leading zeros, "}"); nil for anything else, which the full scan then
    /// judges. Most requests take this path: one comparison instead of a validating scan of ~100 bytes.
    static func guideSearchHeaderLength(_ bytes: UnsafeRawBufferPointer) -> Int? {
        let prefix = guideSearchHeaderPrefix
        let prefixCount = prefix.utf8CodeUnitCount
        let digits = bytes.count - prefixCount - 1
        guard digits >= 1, digits <= 18, bytes[bytes.count - 1] == UInt8(ascii: "}"),
            bytesEqual(bytes.baseAddress!, prefix.utf8Start, count: prefixCount)
        else { return nil }
        guard let (value, end) = plainDigits(bytes, from: prefixCount), end == bytes.count - 1 else { return nil }
        return value
    }

    /// The integer written at `start` as 1 to 18 digits without a leading zero, and the index after it; nil
    /// for anything else (no digit, a leading zero, a 19th digit). Used where JSON's plain integers are all
    /// that a fast path accepts; 18 digits cannot overflow Int.
    static func plainDigits(_ bytes: UnsafeRawBufferPointer, from start: Int) -> (value: Int, end: Int)? {
        var index = start
        var value = 0
        while index < bytes.count {
            let digit = bytes[index] &- UInt8(ascii: "0")
            guard digit < 10 else { break }
            guard index - start < 18 else { return nil }
            value = value * 10 + Int(digit)
            index += 1
        }
        let count = index - start
        guard count > 0, count == 1 || bytes[start] != UInt8(ascii: "0") else { return nil }
        return (value, index)
    }

    /// content-length must be a plain non-negative integer token: not `true`, `1.5`, `"10"` or `1e400`.
    private static func contentLength(_ value: ScannedFields.Length, limit: Int) throws(FrameError) -> Int {
        switch value {
        case .notANumber(let type):
            throw .invalidHeaderValue(key: "content-length", reason: "must be a non-negative integer, got \(type)")
        case .notAnInteger:
            throw .invalidHeaderValue(
                key: "content-length",
                reason: "must be a non-negative integer, got a number with a fraction or exponent"
            )
        case .negative(let text):
            throw .invalidHeaderValue(key: "content-length", reason: "must be a non-negative integer, got \(text)")
        case .integer(let length) where length <= limit:
            return length
        case .integer(let length):
            throw .contentTooLarge(declared: String(length), limit: limit)
        case .tooLarge(let text):
            throw .contentTooLarge(declared: text, limit: limit)
        }
    }
}

/// What the scan of a header found for each required key.
private struct ScannedFields {
    enum Length {
        case integer(Int)
        case negative(String)
        case tooLarge(String)
        case notAnInteger
        case notANumber(String)
    }

    /// Bit i set: FrameHeader.requiredKeys[i] was present.
    var seen = 0
    var byteOrder: ByteOrder?
    var contentLength = Length.notANumber("missing")
    var contentType: String?
    var contentEncoding: String?
    /// Other keys, decoded, kept only to detect duplicates.
    var otherKeys: Set<String> = []
    var duplicate: (key: String, offset: Int)?

    mutating func take(_ key: borrowing JSONKey, from parser: inout JSONParser) throws(JSONError) {
        let index: Int
        if key.matches("byteorder") {
            index = 0
        } else if key.matches("content-length") {
            index = 1
        } else if key.matches("content-type") {
            index = 2
        } else if key.matches("content-encoding") {
            index = 3
        } else {
            let name = key.hasEscapes ? parser.decodeKey(key) : String(decoding: key.raw, as: UTF8.self)
            if let known = FrameHeader.requiredKeys.firstIndex(of: name) {
                index = known  // a required key spelled with escapes
            } else {
                if !otherKeys.insert(name).inserted && duplicate == nil { duplicate = (name, key.offset) }
                _ = try parser.parseValue()
                return
            }
        }
        if seen & (1 << index) != 0 && duplicate == nil { duplicate = (FrameHeader.requiredKeys[index], key.offset) }
        seen |= 1 << index
        switch index {
        case 0: byteOrder = try Self.byteOrder(&parser)
        case 1: contentLength = try Self.length(&parser)
        case 2: contentType = try Self.string(&parser)
        default: contentEncoding = try Self.string(&parser)
        }
    }

    /// The string at the parser, or nil (after consuming the value) when it is not a string.
    private static func string(_ parser: inout JSONParser) throws(JSONError) -> String? {
        guard parser.peek(UInt8(ascii: "\"")) else {
            _ = try parser.parseValue()
            return nil
        }
        // The values the guide's programs send are taken as the program's own constant strings.
        for known in knownValues where parser.consume(quoted: known.literal) { return known.value }
        return try parser.parseString()
    }

    /// Header values the guide's programs send, as quoted literals and the String to use for each.
    private static let knownValues: [(literal: StaticString, value: String)] = [
        ("\"text/json\"", "text/json"), ("\"utf-8\"", "utf-8"), ("\"binary\"", "binary"),
        ("\"binary/custom-client-binary-type\"", "binary/custom-client-binary-type"),
        ("\"binary/custom-server-binary-type\"", "binary/custom-server-binary-type"),
    ]

    /// "little" or "big", compared as bytes; nil for anything else.
    private static func byteOrder(_ parser: inout JSONParser) throws(JSONError) -> ByteOrder? {
        if parser.consume(quoted: "\"little\"") { return .little }
        if parser.consume(quoted: "\"big\"") { return .big }
        return try string(&parser).flatMap(ByteOrder.init(rawValue:))
    }

    /// The common case without building a token: 1 to 18 digits, no leading zero, then a delimiter.
    /// Anything else (signs, fractions, exponents, other types) returns nil and takes the full path.
    private static func plainInteger(_ parser: inout JSONParser) -> Int? {
        let bytes = parser.bytes
        guard let (result, index) = FrameHeader.plainDigits(bytes, from: parser.position), index < bytes.count else {
            return nil
        }
        switch bytes[index] {
        case UInt8(ascii: ","), UInt8(ascii: "}"), 0x20, 0x09, 0x0A, 0x0D:
            parser.position = index
            return result
        default:
            return nil
        }
    }

    private static func length(_ parser: inout JSONParser) throws(JSONError) -> Length {
        if let plain = plainInteger(&parser) { return .integer(plain) }
        let typeOffset = parser.position
        guard let (text, isInteger) = try parser.scanNumberToken() else {
            var copy = JSONParser(parser.bytes, maximumDepth: 16)
            copy.position = typeOffset
            return .notANumber((try? copy.skipValueReturningType()) ?? "value")
        }
        guard isInteger else { return .notAnInteger }
        let negative = text.first == UInt8(ascii: "-")
        let digits = negative ? UnsafeRawBufferPointer(rebasing: text.dropFirst()) : text
        if negative && !(digits.count == 1 && digits[0] == UInt8(ascii: "0")) {
            return .negative(String(decoding: text, as: UTF8.self))
        }
        // 18 digits always fit in an Int; a longer number is above any limit anyway.
        guard digits.count <= 18 else {
            let shown = String(decoding: text.prefix(20), as: UTF8.self)
            return .tooLarge(text.count > 24 ? shown + "..." : String(decoding: text, as: UTF8.self))
        }
        var value = 0
        for digit in digits { value = value * 10 + Int(digit - UInt8(ascii: "0")) }
        return .integer(value)
    }
}

/// The text encodings accepted for text/json content: UTF-8 (and ASCII, its subset), under the names
/// Python's codec registry accepts for them.
public enum TextEncoding: Sendable {
    case utf8, ascii

    /// Recognises "utf-8", "UTF8", "utf_8", "ascii", "us-ascii" and the like; nil for anything else.
    public init?(name: String) {
        // The guide's spelling first: no lowercasing, no allocation.
        if name == "utf-8" {
            self = .utf8
            return
        }
        let normalized = String(name.lowercased().map { $0 == "-" || $0 == " " ? "_" : $0 })
        switch normalized {
        case "utf_8", "utf8", "u8", "utf", "cp65001": self = .utf8
        case "ascii", "us_ascii", "646": self = .ascii
        default: return nil
        }
    }

    /// True when `bytes` can be decoded in this encoding.
    public func canDecode(_ bytes: [UInt8]) -> Bool {
        switch self {
        case .utf8: UTF8Validation.isValid(bytes)
        case .ascii: bytes.allSatisfy { $0 < 0x80 }
        }
    }
}
