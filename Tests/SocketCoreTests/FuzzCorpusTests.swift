// FuzzCorpusTests.swift -- every input in the fuzz corpus (seeds and any crash found since) through the
// same property checks the libFuzzer target runs, on every `make test`; and the framing inputs do what
// their names say: each `bad-*` is refused with the error the server would send, each `valid-*` accepted.
import Foundation
import SocketCore
import Testing

@Suite struct FuzzCorpusTests {
    static let folder = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("Fuzz/corpus")

    static let corpus: [URL] = {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: folder.path)) ?? []
        return names.sorted().map { folder.appendingPathComponent($0) }
    }()

    /// The framing inputs a name says must be refused, and those it says must be accepted.
    static let bad = corpus.filter { $0.lastPathComponent.hasPrefix("bad-") }
    static let valid = corpus.filter { $0.lastPathComponent.hasPrefix("valid-") }

    /// What each `bad-*` input is refused with: the reason after "Error: " in the server's reply.
    static let refusals: [String: String] = [
        "bad-bool-length": "header 'content-length' must be a non-negative integer, got bool.",
        "bad-deep-nesting": "invalid JSON header: nesting deeper than 16 levels at byte 21.",
        "bad-duplicate-keys": "invalid JSON header: duplicate key 'content-length' at byte 91.",
        "bad-exp-length":
            "header 'content-length' must be a non-negative integer, got a number with a fraction or exponent.",
        "bad-ffff-then-brace": "the connection closed after 3 bytes (in the 65535-byte JSON header).",
        "bad-float-length":
            "header 'content-length' must be a non-negative integer, got a number with a fraction or exponent.",
        "bad-huge-length": "content-length 1000000000000 exceeds the limit of 1048576 bytes.",
        "bad-invalid-json-content": "invalid JSON content: unexpected end of data at byte 11.",
        "bad-invalid-utf8": "invalid JSON header: invalid UTF-8 (byte 0xff) at byte 15.",
        "bad-latin1-json": "unsupported content-encoding 'latin-1' for text/json; use 'utf-8'.",
        "bad-lone-surrogate": #"invalid JSON content: lone surrogate \ud800 at byte 11."#,
        "bad-missing-length": "Missing required header 'content-length'.",
        "bad-negative-length": "header 'content-length' must be a non-negative integer, got -1.",
        "bad-not-object": "JSON header must be an object, got list.",
        "bad-one-byte": "the connection closed after 1 of 2 bytes (in the 2-byte length prefix).",
        "bad-string-length": "header 'content-length' must be a non-negative integer, got str.",
        "bad-truncated-content": "the connection closed after 139 of 146 bytes (in the content).",
        "bad-zero-header": "JSON header length is 0; expected a JSON object.",
    ]

    /// How many messages each `valid-*` input holds, when it is not one.
    static let messageCounts = ["valid-two-messages": 2]

    @Test func corpusIsThere() {
        #expect(Self.corpus.count >= 20)
        #expect(Self.bad.count >= 15 && Self.valid.count >= 5)
    }

    @Test(arguments: corpus)
    func propertiesHold(file: URL) throws {
        let bytes = [UInt8](try Data(contentsOf: file))
        #expect(FramingSelfCheck.violation(in: bytes) == nil, "\(file.lastPathComponent)")
    }

    @Test("each bad-* input is refused, with the error its entry names", arguments: bad)
    func badInputIsRefused(file: URL) throws {
        let name = file.lastPathComponent
        let outcome = Self.serve(try [UInt8](Data(contentsOf: file)))
        let expected = try #require(Self.refusals[name], "\(name) has no entry in refusals: \(outcome)")
        #expect(outcome.refusal == expected, "\(name): \(outcome)")
    }

    @Test("each valid-* input is accepted: whole messages, every one a request the server answers", arguments: valid)
    func validInputIsAccepted(file: URL) throws {
        let name = file.lastPathComponent
        let outcome = Self.serve(try [UInt8](Data(contentsOf: file)))
        #expect(outcome.refusal == nil, "\(name): \(outcome)")
        #expect(outcome.requests == Self.messageCounts[name, default: 1], "\(name): \(outcome)")
    }

    @Test("the escaped key is read as what it spells: byte\\u006frder is byteorder, as Python's json reads it")
    func escapedKeyIsUnescaped() throws {
        let bytes = [UInt8](try Data(contentsOf: Self.folder.appendingPathComponent("valid-escaped-key")))
        var decoder = FrameDecoder(maximumContentLength: 1 << 20)
        decoder.feed(bytes)
        let frame = try #require(try decoder.next())
        #expect(frame.header.byteOrder == .big)
    }

    @Test("every refusal names a bad-* input that exists")
    func refusalsAreCurrent() {
        let names = Set(Self.bad.map(\.lastPathComponent))
        #expect(Set(Self.refusals.keys).subtracting(names).isEmpty)
    }

    /// The messages in `bytes`, read to the end as serve app reads a request (its 1 MiB content limit), each
    /// taken as a request: how many were, then the first refusal, as the text after "Error: ".
    static func serve(_ bytes: [UInt8]) -> (requests: Int, refusal: String?) {
        var decoder = FrameDecoder(maximumContentLength: 1 << 20)
        decoder.feed(bytes)
        var requests = 0
        do {
            while let frame = try decoder.next() {
                switch Result(catching: { () throws(AppProtocol.ContentError) in try AppProtocol.request(from: frame) })
                {
                case .success: requests += 1
                case .failure(let error): return (requests, error.description)
                }
            }
            try decoder.finish()
        } catch {
            return (requests, String(describing: error))
        }
        return (requests, nil)
    }
}
