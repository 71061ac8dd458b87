// Frame.swift -- one message of the guide's app protocol, and its exact bytes on the wire:
//
//     +--------+----------------------+----------------+
//     | uint16 | JSON header (UTF-8)  | content        |
//     | BE len |  len bytes           | content-length |
//     +--------+----------------------+----------------+

/// A whole message: header and content.
public struct Frame: Sendable, Equatable {
    public var header: FrameHeader
    public var content: [UInt8]

    public init(header: FrameHeader, content: [UInt8]) {
        self.header = header
        self.content = content
    }

    /// A message whose header is made for `content` (content-length filled in).
    public init(contentType: String, contentEncoding: String, content: [UInt8], byteOrder: ByteOrder = .host) {
        header = FrameHeader(
            byteOrder: byteOrder,
            contentType: contentType,
            contentEncoding: contentEncoding,
            contentLength: content.count
        )
        self.content = content
    }

    /// A text/json, utf-8 message carrying `value` as the guide's Python encodes it.
    public static func json(_ value: JSONValue, byteOrder: ByteOrder = .host) -> Frame {
        Frame(
            contentType: FrameHeader.jsonContentType,
            contentEncoding: "utf-8",
            content: PythonJSON.encode(value),
            byteOrder: byteOrder
        )
    }

    /// The bytes on the wire, identical to the guide's `_create_message`: prefix, then
    /// `{"byteorder": ..., "content-type": ..., "content-encoding": ..., "content-length": N}`, then content.
    public func encoded() -> [UInt8] {
        var output: [UInt8] = []
        output.reserveCapacity(128 + content.count)
        FrameEncoder.append(header: header, to: &output)
        output.append(contentsOf: content)
        return output
    }
}

/// Writes message headers; the content follows as is.
public enum FrameEncoder {
    /// The largest JSON header the 2-byte prefix can announce.
    public static let maximumHeaderLength = 0xFFFF

    /// The header length a message's 2-byte big-endian prefix announces (`bytes` starts with it).
    public static func announcedHeaderLength(_ bytes: some Collection<UInt8>) -> Int {
        var prefix = bytes.makeIterator()
        return Int(prefix.next() ?? 0) << 8 | Int(prefix.next() ?? 0)
    }

    /// Appends the prefix and JSON header for `header` (whose contentLength must be the content's size).
    public static func append(header: FrameHeader, to output: inout [UInt8]) {
        let prefixIndex = output.count
        output.append(0)
        output.append(0)
        append(#"{"byteorder": "#, to: &output)
        append(header.byteOrder == .little ? #""little""# : #""big""#, to: &output)
        append(#", "content-type": "#, to: &output)
        PythonJSON.appendString(header.contentType, to: &output)
        append(#", "content-encoding": "#, to: &output)
        PythonJSON.appendString(header.contentEncoding, to: &output)
        append(#", "content-length": "#, to: &output)
        appendDecimal(header.contentLength, to: &output)
        output.append(UInt8(ascii: "}"))
        let length = output.count - prefixIndex - 2
        precondition(length <= maximumHeaderLength, "JSON header of \(length) bytes does not fit the 2-byte prefix")
        output[prefixIndex] = UInt8(length >> 8)
        output[prefixIndex + 1] = UInt8(length & 0xFF)
    }

    /// Appends a literal's bytes straight from the binary's data.
    @inline(__always)
    static func append(_ literal: StaticString, to output: inout [UInt8]) {
        output.append(contentsOf: UnsafeBufferPointer(start: literal.utf8Start, count: literal.utf8CodeUnitCount))
    }

    /// Appends a non-negative integer in decimal without going through String.
    static func appendDecimal(_ value: Int, to output: inout [UInt8]) {
        precondition(value >= 0)
        if value < 10 {
            output.append(UInt8(ascii: "0") + UInt8(value))
            return
        }
        var digits:
            (
                UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8,
                UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8
            ) =
                (0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0)
        var count = 0
        var rest = value
        withUnsafeMutableBytes(of: &digits) { buffer in
            while rest > 0 {
                buffer[count] = UInt8(ascii: "0") + UInt8(rest % 10)
                rest /= 10
                count += 1
            }
            for index in stride(from: count - 1, through: 0, by: -1) { output.append(buffer[index]) }
        }
    }
}
