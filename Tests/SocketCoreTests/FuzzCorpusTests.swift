// FuzzCorpusTests.swift -- every input in the fuzz corpus (seeds and any crash found since) through the
// same property checks the libFuzzer target runs, on every `make test`.
import Foundation
import SocketCore
import Testing

@Suite struct FuzzCorpusTests {
    static let corpus: [URL] = {
        let folder = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("Fuzz/corpus")
        let names = (try? FileManager.default.contentsOfDirectory(atPath: folder.path)) ?? []
        return names.sorted().map { folder.appendingPathComponent($0) }
    }()

    @Test func corpusIsThere() {
        #expect(Self.corpus.count >= 20)
    }

    @Test(arguments: corpus)
    func propertiesHold(file: URL) throws {
        let bytes = [UInt8](try Data(contentsOf: file))
        #expect(FramingSelfCheck.violation(in: bytes) == nil, "\(file.lastPathComponent)")
        #expect(PacketSelfCheck.violation(in: bytes) == nil, "\(file.lastPathComponent)")
    }
}
