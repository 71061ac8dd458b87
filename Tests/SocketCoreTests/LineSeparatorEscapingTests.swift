// LineSeparatorEscapingTests.swift -- U+2028 and U+2029 from a peer never reach a log line raw (a reader
// that splits lines on them, as Python's str.splitlines does, would see a line the peer wrote), while the
// JSON on the wire keeps Python's bytes.
import SocketCore
import Testing

@Suite struct LineSeparatorEscapingTests {
    @Test("escapeForLog writes U+2028 and U+2029 as \\u2028 and \\u2029")
    func logTextEscapesSeparators() {
        #expect(ByteNotation.escapeForLog("a\u{2028}b\u{2029}c") == #"a\u2028b\u2029c"#)
        // The neighbours stay as they are: U+2027 is printable, U+202A-U+202E were escaped already.
        #expect(ByteNotation.escapeForLog("\u{2027}\u{202A}") == "\u{2027}" + #"\u202a"#)
    }

    @Test("terminal-safe JSON (log lines) escapes them; the wire's JSON leaves them raw, as Python does")
    func jsonEscapesSeparatorsOnlyForLogs() {
        let text = "x\u{2028}y\u{2029}z\u{2027}"
        var log: [UInt8] = []
        PythonJSON.appendString(text, to: &log, terminalSafe: true)
        #expect(String(decoding: log, as: UTF8.self) == #""x\u2028y\u2029z"# + "\u{2027}\"")
        var wire: [UInt8] = []
        PythonJSON.appendString(text, to: &wire)
        #expect(wire == Array("\"\(text)\"".utf8))
    }

    @Test("a separator at the very end is escaped; other three-byte E2 sequences are left alone")
    func separatorsAtTheEdges() {
        var log: [UInt8] = []
        PythonJSON.appendString("\u{2029}", to: &log, terminalSafe: true)
        #expect(String(decoding: log, as: UTF8.self) == #""\u2029""#)
        var other: [UInt8] = []
        PythonJSON.appendString("\u{2000}\u{20AC}", to: &other, terminalSafe: true)
        #expect(String(decoding: other, as: UTF8.self) == "\"\u{2000}\u{20AC}\"")
    }
}
