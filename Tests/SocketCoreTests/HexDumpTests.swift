// HexDumpTests.swift -- the -x format, pure: line layout against `hexdump -C`'s, offsets, short and
// empty chunks, offsets past 4 GiB, the header, and the JSON event's hex.
import Foundation
import SocketCore
import Testing

@Suite("HexDump: offset, hex and ASCII, as hexdump -C")
struct HexDumpTests {
    @Test("a full line and a short one, laid out as hexdump -C lays them out")
    func layout() {
        let text = HexDump.format(Array("Hello, world.ABCD".utf8))
        #expect(
            text == """
                00000000  48 65 6c 6c 6f 2c 20 77  6f 72 6c 64 2e 41 42 43  |Hello, world.ABC|
                00000010  44                                                |D|

                """
        )
    }

    @Test("the same text as the hexdump binary for every byte value", .enabled(if: hexdumpPath != nil))
    func matchesHexdump() throws {
        // hexdump is bsdmainutils/util-linux; skipped where it is missing.
        let bytes = (0...255).map(UInt8.init) + Array("tail".utf8)
        let expected = try runHexdump(bytes)
        // hexdump -C ends with a line giving the total length; ours does not (the header says it).
        let withoutTotal = expected.split(separator: "\n").dropLast().map { $0 + "\n" }.joined()
        #expect(HexDump.format(bytes) == withoutTotal)
    }

    @Test("offsets are stream positions: a chunk at 0x1234 starts its lines there")
    func streamOffsets() {
        let text = HexDump.format([0x00, 0x7f, 0x80, 0xff], offset: 0x1234)
        #expect(text == "00001234  00 7f 80 ff" + String(repeating: " ", count: 37) + "  |....|\n")
    }

    @Test("past 4 GiB the offset grows a digit rather than wrapping")
    func largeOffsets() {
        let text = HexDump.format([0x41], offset: 0x1_0000_0000)
        #expect(text.hasPrefix("100000000  41 "))
    }

    @Test("an empty chunk prints nothing")
    func empty() {
        #expect(HexDump.format([]) == "")
    }

    @Test("the header names the direction, the count and the peer")
    func header() {
        var line: [UInt8] = []
        HexDump.appendHeader(.sent, count: 1, peer: "127.0.0.1:9", to: &line)
        #expect(String(decoding: line, as: UTF8.self) == "> sent 1 byte to 127.0.0.1:9")
        line.removeAll()
        HexDump.appendHeader(.received, count: 4096, peer: "[::1]:9", to: &line)
        #expect(String(decoding: line, as: UTF8.self) == "< received 4096 bytes from [::1]:9")
    }

    @Test("the JSON event's hex is two lowercase digits per byte")
    func hexString() {
        let text = [UInt8]([0x00, 0x0f, 0xa0, 0xff]).withUnsafeBytes { HexDump.hexString($0) }
        #expect(text == "000fa0ff")
    }
}

private let hexdumpPath = ["/usr/bin/hexdump", "/bin/hexdump"].first {
    FileManager.default.isExecutableFile(atPath: $0)
}

/// `hexdump -C` of `bytes`, through a pipe.
private func runHexdump(_ bytes: [UInt8]) throws -> String {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: hexdumpPath!)
    process.arguments = ["-C"]
    let input = Pipe()
    let output = Pipe()
    process.standardInput = input
    process.standardOutput = output
    try process.run()
    input.fileHandleForWriting.write(Data(bytes))
    try input.fileHandleForWriting.close()
    let data = output.fileHandleForReading.readDataToEndOfFile()
    process.waitUntilExit()
    return String(decoding: data, as: UTF8.self)
}
