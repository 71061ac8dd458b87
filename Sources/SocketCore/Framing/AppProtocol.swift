// AppProtocol.swift -- what the guide's app server answers, as pure functions of the request frame.

/// The guide's search service: requests in, responses out. No sockets here.
public enum AppProtocol {
    /// The guide's `request_search` table: the answer for `value`, if it has one.
    static func answer(to value: String) -> String? {
        tableIndex(of: value).map { tableAnswers[$0] }
    }

    /// Where `value` is in the guide's table.
    static func tableIndex(of value: String) -> Int? {
        tableKeys.firstIndex { $0.elementsEqual(value.utf8) }
    }

    /// The keys of the guide's table, as bytes.
    static let tableKeys: [[UInt8]] = ["morpheus", "ring", "\u{1F436}"].map { Array($0.utf8) }

    /// The answers of the guide's table, in `tableKeys` order.
    static let tableAnswers = [
        "Follow the white rabbit. \u{1F430}",
        "In the caves beneath the Misty Mountains. \u{1F48D}",
        "\u{1F43E} Playing ball! \u{1F3D0}",
    ]

    /// The table's answers as whole response frames, encoded once: they never change, so a search that hits
    /// the table (the guide's every request) costs the server no JSON writing.
    static let encodedTableResponses = tableAnswers.map { resultFrame($0).encoded() }

    /// The content length of each of `encodedTableResponses` (for the log's frame layout).
    static let tableResponseContentLengths = tableAnswers.map { resultFrame($0).content.count }

    /// `{"action": "search", "value": value}`, parsed.
    static func search(_ value: String) -> Request {
        .json(.object([JSONMember("action", .string("search")), JSONMember("value", .string(value))]))
    }

    /// The table index of a frame that is exactly the guide client's search (see `guideSearchValue`) for a
    /// value the table answers: such a request needs no JSON document to be answered. Nil otherwise. The
    /// bytes are the prefix and suffix (ASCII) around a key (UTF-8), so the content is valid UTF-8 as it is.
    static func tableSearch(in frame: Frame) -> Int? {
        guard frame.header.isJSON, (TextEncoding(name: frame.header.contentEncoding) ?? .utf8) == .utf8 else {
            return nil
        }
        return frame.content.withUnsafeBytes(tableIndex(ofSearchIn:))
    }

    /// The table index of the value in `content` when it is exactly the guide client's search (see
    /// `guideSearchValueRange`) for a value the table answers; nil otherwise.
    private static func tableIndex(ofSearchIn content: UnsafeRawBufferPointer) -> Int? {
        guard let range = guideSearchValueRange(content) else { return nil }
        let value = UnsafeRawBufferPointer(rebasing: content[range])
        // The keys are not empty, so a value of the same length has a base address.
        return tableKeys.firstIndex { key in
            key.count == value.count
                && key.withUnsafeBytes { bytesEqual($0.baseAddress!, value.baseAddress!, count: value.count) }
        }
    }

    /// A request found whole in received bytes that is the guide client's search for a table entry.
    struct WholeTableSearch: Equatable {
        /// Into `tableKeys` and `encodedTableResponses`.
        let index: Int
        /// The JSON header's length, as the 2-byte prefix announced it.
        let headerLength: Int
        let contentLength: Int
    }

    /// The table search `bytes` are when they are one whole message and nothing more, exactly as the guide's
    /// client writes it on a little-endian machine (`FrameHeader.guideSearchHeaderLength`) for a value the
    /// table answers (`tableSearch(in:)`); nil for anything else, which the decoder then reads. The server
    /// answers the guide's every request from here without making a frame: no content copied out of the read
    /// buffer, no header strings. FramingSelfCheck holds it to what the decoder and `tableSearch` make of the
    /// same bytes.
    static func wholeTableSearch(in bytes: UnsafeRawBufferPointer, maximumContentLength: Int) -> WholeTableSearch? {
        guard bytes.count > 2 else { return nil }
        let headerLength = Int(bytes[0]) << 8 | Int(bytes[1])
        let contentStart = 2 + headerLength
        guard contentStart < bytes.count,
            let contentLength = FrameHeader.guideSearchHeaderLength(
                UnsafeRawBufferPointer(rebasing: bytes[2..<contentStart])
            ),
            contentLength <= maximumContentLength, contentStart + contentLength == bytes.count,
            let index = tableIndex(ofSearchIn: UnsafeRawBufferPointer(rebasing: bytes[contentStart...]))
        else { return nil }
        return WholeTableSearch(index: index, headerLength: headerLength, contentLength: contentLength)
    }

    /// The content type of the server's binary answer.
    public static let serverBinaryType = "binary/custom-server-binary-type"
    /// The content type of a client's binary request.
    public static let clientBinaryType = "binary/custom-client-binary-type"
    /// The prefix of the binary answer.
    public static let binaryAnswerPrefix = Array("First 10 bytes of request: ".utf8)

    /// A request, as the server understood it.
    public enum Request: Sendable, Equatable {
        /// text/json content, parsed.
        case json(JSONValue)
        /// Any other content type: opaque bytes.
        case binary(contentType: String, content: [UInt8])
    }

    /// Why request content is unusable even though its framing was fine.
    public struct ContentError: Error, Sendable, Equatable, CustomStringConvertible {
        public let reason: String
        public var description: String { reason }
    }

    /// Interprets a frame's content: JSON for text/json (in its declared encoding), bytes otherwise.
    ///
    /// - Throws: `ContentError` for text/json content that does not decode or parse.
    public static func request(from frame: Frame) throws(ContentError) -> Request {
        guard frame.header.isJSON else {
            return .binary(contentType: frame.header.contentType, content: frame.content)
        }
        // FrameHeader validation already refused unknown encodings for text/json.
        let encoding = TextEncoding(name: frame.header.contentEncoding) ?? .utf8
        guard encoding.canDecode(frame.content) else {
            throw ContentError(reason: "content is not valid \(frame.header.contentEncoding).")
        }
        if encoding == .utf8, let value = guideSearchValue(frame.content) { return search(value) }
        do {
            return .json(try JSONParser.parse(frame.content, knownValidUTF8: true))
        } catch {
            throw ContentError(reason: "invalid JSON content: \(error).")
        }
    }

    /// The value of the guide client's search request when `content` is exactly its bytes,
    /// `{"action": "search", "value": "..."}` with a value that needs no escapes; nil for anything else,
    /// which the JSON parser then reads. `content` is valid UTF-8 already.
    static func guideSearchValue(_ content: [UInt8]) -> String? {
        guard let value = content.withUnsafeBytes(guideSearchValueRange) else { return nil }
        return content.withUnsafeBufferPointer {
            String(decoding: UnsafeBufferPointer(rebasing: $0[value]), as: UTF8.self)
        }
    }

    /// Where the value is in the guide client's search request (see `guideSearchValue`); nil when `content`
    /// is not exactly its bytes. The bytes of the value are not checked to be UTF-8.
    static func guideSearchValueRange(_ content: UnsafeRawBufferPointer) -> Range<Int>? {
        let prefix: StaticString = #"{"action": "search", "value": ""#
        let prefixCount = prefix.utf8CodeUnitCount
        guard content.count >= prefixCount + 2, content[content.count - 1] == UInt8(ascii: "}"),
            content[content.count - 2] == UInt8(ascii: "\""),
            bytesEqual(content.baseAddress!, prefix.utf8Start, count: prefixCount)
        else { return nil }
        let range = prefixCount..<(content.count - 2)
        // Control characters are not allowed raw in a JSON string; quotes and backslashes need decoding.
        for index in range {
            let byte = content[index]
            if byte < 0x20 || byte == UInt8(ascii: "\"") || byte == UInt8(ascii: "\\") { return nil }
        }
        return range
    }

    /// The response to a request, as the guide's server makes it.
    public static func response(to request: Request) -> Frame {
        response(to: request, maxResultLength: .max)!
    }

    /// The response to a request, or nil when the answer's text would pass `maxResultLength` bytes (a
    /// request can ask for an answer several times its size: `[9e15, ...]` comes back as
    /// `9000000000000000.0`). The text is given up as soon as it passes the limit.
    static func response(to request: Request, maxResultLength: Int) -> Frame? {
        switch request {
        case .binary(_, let content):
            return Frame(
                contentType: serverBinaryType,
                contentEncoding: "binary",
                content: binaryAnswerPrefix + content.prefix(10)
            )
        case .json(let document):
            return result(for: document, limit: maxResultLength).map(resultFrame)
        }
    }

    /// The "result" text for a JSON request.
    public static func result(for document: JSONValue) -> String {
        result(for: document, limit: .max)!
    }

    /// The "result" text for a JSON request, or nil when the text would pass `limit` bytes.
    static func result(for document: JSONValue, limit: Int) -> String? {
        guard case .object = document else {
            // The guide's server spins forever on falsy content ({} aside) and crashes on other non-objects.
            return "Error: request content must be a JSON object, got \(document.pythonTypeName)."
        }
        let action = document["action"] ?? .null
        guard action == .string("search") else {
            guard let shown = str(action, limit: limit) else { return nil }
            return "Error: invalid action '\(shown)'."
        }
        let value = document["value"] ?? .null
        if let text = value.stringValue, let answer = answer(to: text) { return answer }
        guard let shown = str(value, limit: limit) else { return nil }
        return "No match for '\(shown)'."
    }

    /// `str(value)`, or nil once it passes `limit` bytes.
    private static func str(_ value: JSONValue, limit: Int) -> String? {
        if case .string(let text) = value { return text.utf8.count > limit ? nil : text }
        var output: [UInt8] = []
        PythonRepr.append(value, to: &output, limit: limit)
        return output.count > limit ? nil : String(decoding: output, as: UTF8.self)
    }

    /// `{"result": text}` as a text/json frame: the guide's answer format, also used for errors.
    public static func resultFrame(_ text: String) -> Frame {
        var content: [UInt8] = []
        content.reserveCapacity(text.utf8.count + 16)
        content.append(contentsOf: #"{"result": "#.utf8)
        PythonJSON.appendString(text, to: &content)
        content.append(UInt8(ascii: "}"))
        return Frame(contentType: FrameHeader.jsonContentType, contentEncoding: "utf-8", content: content)
    }

    /// The guide's request for `search`: `{"action": "search", "value": value}` as text/json.
    public static func searchRequest(action: String = "search", value: String) -> Frame {
        .json(.object([JSONMember("action", .string(action)), JSONMember("value", .string(value))]))
    }

    /// The guide's binary request: content = action + value as UTF-8.
    public static func binaryRequest(action: String = "binary", value: String) -> Frame {
        Frame(contentType: clientBinaryType, contentEncoding: "binary", content: Array((action + value).utf8))
    }
}
