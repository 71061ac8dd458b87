// FrameDecoderTests.swift -- the decoder fed every way a stream can arrive (NIO's verifier idea): every
// split point, one byte at a time, many messages at once, seeded random splits, truncation, bad headers.
import SocketCore
import Testing

@Suite struct FrameDecoderTests {
    static let search = AppProtocol.searchRequest(value: "morpheus")
    static let binary = AppProtocol.binaryRequest(value: "\u{1F603}")
    static let twoMessages = search.encoded() + binary.encoded()

    /// Feeds `chunks` in order; returns every frame decoded. Every test decodes both ways the decoder can be
    /// fed, `feed` + `next()` and `next(feeding:)` (the server's path, straight from its read buffer), and
    /// they must agree on every frame and every error.
    private func decode(_ chunks: [[UInt8]], maximumContentLength: Int = 1 << 20) throws -> [Frame] {
        let fed = Result { try decode(chunks, maximumContentLength: maximumContentLength, straight: false) }
        let straight = Result { try decode(chunks, maximumContentLength: maximumContentLength, straight: true) }
        switch (fed, straight) {
        case (.success(let frames), .success(let straightFrames)):
            #expect(frames == straightFrames, "next(feeding:) decodes what feed + next() does")
        case (.failure(let error), .failure(let straightError)):
            #expect("\(error)" == "\(straightError)", "next(feeding:) fails as feed + next() does")
        default:
            Issue.record("feed + next(): \(fed); next(feeding:): \(straight)")
        }
        return try fed.get()
    }

    private func decode(_ chunks: [[UInt8]], maximumContentLength: Int, straight: Bool) throws -> [Frame] {
        var decoder = FrameDecoder(maximumContentLength: maximumContentLength)
        var frames: [Frame] = []
        for chunk in chunks {
            if straight {
                if let frame = try chunk.withUnsafeBytes({ try decoder.next(feeding: $0) }) { frames.append(frame) }
            } else {
                decoder.feed(chunk)
            }
            while let frame = try decoder.next() { frames.append(frame) }
        }
        try decoder.finish()
        return frames
    }

    @Test func decodesTheGuidesRequest() throws {
        let frames = try decode([Self.search.encoded()])
        #expect(frames == [Self.search])
        #expect(frames[0].header.contentLength == 41)
        #expect(frames[0].header.byteOrder == .host)
    }

    @Test func everyTwoWaySplitOfTwoMessages() throws {
        let stream = Self.twoMessages
        for split in 0...stream.count {
            let frames = try decode([Array(stream[..<split]), Array(stream[split...])])
            #expect(frames == [Self.search, Self.binary], "split at \(split)")
        }
    }

    @Test func oneByteAtATime() throws {
        let frames = try decode(Self.twoMessages.map { [$0] })
        #expect(frames == [Self.search, Self.binary])
    }

    @Test func manyMessagesInOneChunk() throws {
        let many = (0..<100).map { AppProtocol.searchRequest(value: "value \($0)") }
        let frames = try decode([many.flatMap { $0.encoded() }])
        #expect(frames == many)
    }

    @Test(arguments: [1, 2, 3, 42, 2026])
    func seededRandomSplits(seed: UInt64) throws {
        var generator = SplitMix64(seed: seed)
        let messages = (0..<20).map { index -> Frame in
            index % 3 == 0
                ? AppProtocol.binaryRequest(value: String(repeating: "x", count: Int(generator.next() % 300)))
                : AppProtocol.searchRequest(value: "\u{1F436} \(generator.next())")
        }
        let stream = messages.flatMap { $0.encoded() }
        var chunks: [[UInt8]] = []
        var offset = 0
        while offset < stream.count {
            let size = min(stream.count - offset, Int(generator.next() % 97) + 1)
            chunks.append(Array(stream[offset..<offset + size]))
            offset += size
        }
        #expect(try decode(chunks) == messages)
    }

    @Test func nothingFedIsNotAnError() throws {
        let decoder = FrameDecoder()
        try decoder.finish()
        #expect(decoder.isAtMessageBoundary)
    }

    @Test func truncatedInThePrefix() {
        var decoder = FrameDecoder()
        decoder.feed([0x00])
        #expect(throws: FrameError.truncated(received: 1, expected: 2, stage: .lengthPrefix)) { try decoder.finish() }
    }

    @Test func truncatedInTheHeader() throws {
        var decoder = FrameDecoder()
        decoder.feed(Array(Self.search.encoded()[..<40]))
        #expect(try decoder.next() == nil)
        #expect(throws: FrameError.truncated(received: 40, expected: nil, stage: .header(length: 103))) {
            try decoder.finish()
        }
    }

    @Test func truncatedInTheContentSaysHowMuchArrived() throws {
        var decoder = FrameDecoder()
        let bytes = Self.search.encoded()
        decoder.feed(Array(bytes[..<(bytes.count - 7)]))
        #expect(try decoder.next() == nil)
        let error = #expect(throws: FrameError.self) { try decoder.finish() }
        #expect(error == .truncated(received: bytes.count - 7, expected: bytes.count, stage: .content))
        #expect(
            error?.description(peer: "server")
                == "server closed the connection after 139 of 146 bytes (in the content)."
        )
    }

    @Test func truncatedAfterAWholeMessage() throws {
        var decoder = FrameDecoder()
        decoder.feed(Self.search.encoded() + [0x00, 0x67, 0x7B])
        #expect(try decoder.next() == Self.search)
        #expect(throws: FrameError.truncated(received: 3, expected: nil, stage: .header(length: 103))) {
            try decoder.finish()
        }
    }

    @Test func zeroLengthHeader() {
        var decoder = FrameDecoder()
        decoder.feed([0x00, 0x00])
        #expect(throws: FrameError.emptyHeader) { try decoder.next() }
        // A stream cannot be resynchronised: the error sticks.
        decoder.feed(Self.search.encoded())
        #expect(throws: FrameError.emptyHeader) { try decoder.next() }
    }

    @Test func contentLengthAboveTheLimitIsRefusedAtTheHeader() {
        var decoder = FrameDecoder(maximumContentLength: 1 << 20)
        decoder.feed(
            header(
                #"{"byteorder": "little", "content-type": "x", "content-encoding": "binary", "content-length": 1000000000000}"#
            )
        )
        #expect(throws: FrameError.contentTooLarge(declared: "1000000000000", limit: 1 << 20)) { try decoder.next() }
        // Nothing was allocated for the declared size: only the header bytes are held.
        #expect(decoder.bufferedByteCount < 200)
    }

    @Test func bufferHoldsOnlyWhatArrived() throws {
        var decoder = FrameDecoder(maximumContentLength: 1 << 20)
        decoder.feed(
            header(
                #"{"byteorder": "little", "content-type": "x", "content-encoding": "binary", "content-length": 1048576}"#
            )
        )
        #expect(try decoder.next() == nil)
        decoder.feed([UInt8](repeating: 7, count: 10))
        #expect(try decoder.next() == nil)
        #expect(decoder.bufferedByteCount == 10)
    }

    @Test("next(feeding:) agrees with feed + next() on broken streams too: every cut, empty and oversized headers")
    func straightFromTheReadAgreesOnErrors() {
        let whole = Self.search.encoded()
        let oversized = header(
            #"{"byteorder": "little", "content-type": "x", "content-encoding": "binary", "content-length": 1048577}"#
        )
        let broken = [[0x00, 0x00] + whole, oversized, header(#"{"byteorder": "sideways"}"#) + [1, 2, 3]]
        let truncated = (0..<whole.count).map { Array(whole[..<$0]) }
        for stream in broken + truncated + [whole + Array(whole[..<50])] {
            for split in 0...stream.count {
                // decode() records an issue when the two ways differ; the error itself is expected here.
                _ = try? decode([Array(stream[..<split]), Array(stream[split...])])
            }
        }
    }

    /// A prefix + the given JSON header.
    private func header(_ json: String) -> [UInt8] {
        let bytes = Array(json.utf8)
        return [UInt8(bytes.count >> 8), UInt8(bytes.count & 0xFF)] + bytes
    }
}
