// WholeTableSearchTests.swift -- the bytes serve app answers without decoding: exactly the guide client's
// search for a table entry, one whole message and nothing more.
import Testing

@testable import SocketCore

@Suite struct WholeTableSearchTests {
    /// The guide client's message for `value`, written out by hand: its header on a little-endian machine.
    private func guideSearch(_ value: String, byteOrder: String = "little", extra: [UInt8] = []) -> [UInt8] {
        let content = Array(#"{"action": "search", "value": "\#(value)"}"#.utf8)
        let header = Array(
            (#"{"byteorder": "\#(byteOrder)", "content-type": "text/json", "content-encoding": "utf-8", "#
                + #""content-length": \#(content.count)}"#).utf8
        )
        return [UInt8(header.count >> 8), UInt8(header.count & 0xFF)] + header + content + extra
    }

    private func found(_ bytes: [UInt8], maximumContentLength: Int = 4096) -> AppProtocol.WholeTableSearch? {
        bytes.withUnsafeBytes { AppProtocol.wholeTableSearch(in: $0, maximumContentLength: maximumContentLength) }
    }

    @Test("each table entry is found, with the lengths the prefix and header give")
    func tableEntries() throws {
        for (index, value) in ["morpheus", "ring", "\u{1F436}"].enumerated() {
            let bytes = guideSearch(value)
            let search = try #require(found(bytes), "\(value)")
            #expect(search.index == index)
            let contentLength = Array(#"{"action": "search", "value": "\#(value)"}"#.utf8).count
            #expect(search.contentLength == contentLength)
            #expect(2 + search.headerLength + search.contentLength == bytes.count)
        }
    }

    @Test(
        "anything else is left to the decoder",
        arguments: [
            ("a value the table does not have", "neo", "little", [UInt8]()),
            ("a value that needs decoding", #"ring\u0020"#, "little", []),
            ("a big-endian header", "morpheus", "big", []),
            ("a byte after the message", "morpheus", "little", [0]),
        ]
    )
    func notFound(_ why: String, value: String, byteOrder: String, extra: [UInt8]) {
        #expect(found(guideSearch(value, byteOrder: byteOrder, extra: extra)) == nil, "\(why)")
    }

    @Test("a message one byte short, or announcing more content than allowed, is not found")
    func incompleteOrTooLarge() {
        let bytes = guideSearch("morpheus")
        #expect(found(Array(bytes.dropLast())) == nil)
        #expect(found(Array(bytes.prefix(2))) == nil)
        #expect(found(bytes, maximumContentLength: 10) == nil)
    }

    @Test("what it finds, the decoder decodes to the same one frame, and the self-check agrees")
    func agreesWithTheDecoder() throws {
        let bytes = guideSearch("ring")
        let search = try #require(found(bytes))
        var decoder = FrameDecoder()
        let frame = try #require(try bytes.withUnsafeBytes { try decoder.next(feeding: $0) })
        #expect(frame.header == .guideSearch(contentLength: search.contentLength))
        #expect(decoder.lastHeaderLength == search.headerLength)
        #expect(AppProtocol.tableSearch(in: frame) == search.index)
        #expect(FramingSelfCheck.violation(in: bytes) == nil)
    }
}
