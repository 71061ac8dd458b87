// FrameHeader.swift -- the JSON header of a message: the four required keys, validated strictly.

/// The byte order a header declares for its content (the 2-byte prefix is always big-endian).
public enum ByteOrder: String, Sendable {
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

    /// The keys the guide requires, in the order its server checks them.
    static let requiredKeys = ["byteorder", "content-length", "content-type", "content-encoding"]

    /// Validates a JSON header as received.
    ///
    /// - Parameters:
    ///   - bytes: The JSON header, exactly the length the prefix declared.
    ///   - maximumContentLength: Larger declared lengths are refused before any content is read.
    /// - Throws: `FrameError` naming the first problem.
    public init(validating bytes: UnsafeRawBufferPointer, maximumContentLength: Int) throws(FrameError) {
        guard !bytes.isEmpty else { throw .emptyHeader }
        let document: JSONValue
        do {
            document = try JSONParser.parse(bytes, maximumDepth: 16)
        } catch {
            throw .invalidHeader(error)
        }
        guard case .object = document else { throw .headerNotObject(pythonType: document.pythonTypeName) }
        for key in Self.requiredKeys where document[key] == nil { throw .missingHeader(key) }

        guard let order = document["byteorder"]!.stringValue.flatMap(ByteOrder.init(rawValue:)) else {
            throw .invalidHeaderValue(key: "byteorder", reason: "must be \"little\" or \"big\"")
        }
        byteOrder = order
        contentLength = try Self.contentLength(from: document["content-length"]!, limit: maximumContentLength)
        guard let type = document["content-type"]!.stringValue else {
            throw .invalidHeaderValue(key: "content-type", reason: "must be a string")
        }
        contentType = type
        guard let encoding = document["content-encoding"]!.stringValue else {
            throw .invalidHeaderValue(key: "content-encoding", reason: "must be a string")
        }
        contentEncoding = encoding
        if type == Self.jsonContentType && TextEncoding(name: encoding) == nil { throw .unsupportedEncoding(encoding) }
    }

    /// content-length must be a plain non-negative integer token: not `true`, `1.5`, `"10"` or `1e400`.
    private static func contentLength(from value: JSONValue, limit: Int) throws(FrameError) -> Int {
        guard case .number(let text, true) = value else {
            let got =
                value.pythonTypeName == "float" ? "a number with a fraction or exponent" : "a \(value.pythonTypeName)"
            throw .invalidHeaderValue(key: "content-length", reason: "must be a non-negative integer, got \(got)")
        }
        if text.hasPrefix("-") && text != "-0" {
            throw .invalidHeaderValue(key: "content-length", reason: "must be a non-negative integer, got \(text)")
        }
        let digits = text.hasPrefix("-") ? "0" : text
        // 18 digits always fit in an Int; a longer number is above any limit anyway.
        guard digits.count <= 18, let length = Int(digits), length <= limit else {
            throw .contentTooLarge(declared: text.count > 24 ? String(text.prefix(20)) + "..." : text, limit: limit)
        }
        return length
    }
}

/// The text encodings accepted for text/json content: UTF-8 (and ASCII, its subset), under the names
/// Python's codec registry accepts for them.
public enum TextEncoding: Sendable {
    case utf8, ascii

    /// Recognises "utf-8", "UTF8", "utf_8", "ascii", "us-ascii" and the like; nil for anything else.
    public init?(name: String) {
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
