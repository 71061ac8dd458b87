// ByteNotationReprTests.swift -- sockettool's b'...' against Python's own repr(bytes), byte string by byte
// string: the quote Python picks (b"it's" when there is a ' and no "), every escape, and the cut.
import Foundation
import SocketCore
import Testing

@Suite("bytes shown exactly as Python's repr")
struct ByteNotationReprTests {
    /// repr() of each hex-encoded byte string, one per line, from python3 itself.
    private func pythonRepr(_ samples: [[UInt8]]) throws -> [String] {
        let script = "import sys\nfor line in sys.stdin.read().split('\\n'):\n    print(repr(bytes.fromhex(line)))"
        let input = samples.map { $0.map { byte in (byte < 16 ? "0" : "") + String(byte, radix: 16) }.joined() }
        let result = try ChildProcess.run("python3", ["-c", script], input: input.joined(separator: "\n"))
        #expect(result.status == 0, "\(result.stderr)")
        return result.stdout.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
    }

    @Test("quotes, escapes and every byte value: the same text as Python's repr")
    func sameAsPython() throws {
        var samples: [[UInt8]] = [
            Array("it's".utf8), Array("say \"hi\"".utf8), Array("both ' and \"".utf8), Array("''".utf8),
            Array("'\\".utf8), [0x27, 0x5C, 0x0A, 0x0D, 0x09, 0x00, 0x7F, 0xFF], Array(0...255), [], Array("\"".utf8),
        ]
        var seed: UInt64 = 0x2028
        for length in 1...60 {
            samples.append(
                (0..<length).map { _ in
                    seed = seed &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
                    // Mostly printable, with the two quotes and the backslash common.
                    let pick = Int(seed >> 59)
                    return pick < 3 ? [0x27, 0x22, 0x5C][pick] : UInt8(truncatingIfNeeded: seed >> 33)
                }
            )
        }
        let expected = try pythonRepr(samples)
        #expect(expected.count == samples.count)
        for (sample, python) in zip(samples, expected) {
            #expect(ByteNotation.format(sample, limit: 1000) == python, "\(sample)")
        }
    }

    @Test("a cut repr begins as Python's repr of all the bytes: the quote is chosen on the whole")
    func cutKeepsTheWholesQuote() throws {
        // The shown part has a ' and no "; the rest has a ": Python writes b'...\'...', so do we.
        let bytes = Array("it's".utf8) + [UInt8](repeating: 0x61, count: 200) + Array("\"".utf8)
        let shown = ByteNotation.format(bytes, limit: 10)
        #expect(shown == #"b'it\'saaaaaa'... (205 bytes)"#)
        let python = try #require(try pythonRepr([bytes]).first)
        #expect(python.hasPrefix(String(shown.prefix(12))))
        #expect(
            ByteNotation.format(Array("it's".utf8) + [UInt8](repeating: 0x61, count: 200), limit: 10)
                == #"b"it'saaaaaa"... (204 bytes)"#
        )
    }
}
