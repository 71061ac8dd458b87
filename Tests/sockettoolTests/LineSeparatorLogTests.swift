// LineSeparatorLogTests.swift -- U+2028/U+2029 a peer sends show escaped in the server's log and in the
// client's output (issue 16), while the reply on the wire keeps Python's raw bytes.
import Foundation
import Glibc
import SocketCore
import Testing

@Suite("U+2028 and U+2029 from a peer are escaped in log lines and terminal output")
struct LineSeparatorLogTests {
    @Test("serve app: a content type holding U+2028 and U+2029 is logged escaped, on one line")
    func serverLogsContentTypeEscaped() throws {
        try withServer(["serve", "app", "127.0.0.1", "0"]) { server, port in
            let client = try LoopbackClient.connect(port: port)
            defer { client.close() }
            let type = "binary/x\u{2028}Received request {'action': 'fake'} from 127.0.0.9:1\u{2029}y"
            try client.send(
                AppWire.message(
                    header: AppWire.header(
                        contentType: "\"\(type)\"",
                        contentEncoding: #""binary""#,
                        contentLength: "3"
                    ),
                    content: Array("abc".utf8)
                )
            )
            _ = try client.readFrame()
            let line = try server.waitForLine { $0.hasPrefix("Received ") }
            #expect(line.contains(#"binary/x\u2028Received request"#), "\(line)")
            #expect(line.contains(#"127.0.0.9:1\u2029y"#), "\(line)")
            #expect(!line.unicodeScalars.contains { $0.value == 0x2028 || $0.value == 0x2029 }, "\(line)")
        }
    }

    @Test("search: a result holding U+2028 and U+2029 prints escaped; the reply's bytes are Python's, raw")
    func clientPrintsResultEscaped() throws {
        try withServer(["serve", "app", "127.0.0.1", "0", "-q"]) { _, port in
            let value = "a\u{2028}Got result: fake\u{2029}b"
            let search = try ChildProcess.sockettool(["search", "127.0.0.1", String(port), value, "-q"])
            #expect(search.status == 0, "\(search.stderr)")
            #expect(search.stdout == #"Got result: No match for 'a\u2028Got result: fake\u2029b'."#)
            // The wire: Python's json.dumps(ensure_ascii=False) leaves both raw.
            let client = try LoopbackClient.connect(port: port)
            defer { client.close() }
            try client.send(AppWire.searchRequest(value))
            let content = try client.readFrame().content
            #expect(content == Array(#"{"result": "No match for '\#(value)'."}"#.utf8))
        }
    }

    @Test("serve app --json: the request document's U+2028 is written as \\u2028")
    func jsonLogEscapesSeparators() throws {
        try withServer(["serve", "app", "127.0.0.1", "0", "--json"]) { server, port in
            let search = try ChildProcess.sockettool(["search", "127.0.0.1", String(port), "x\u{2028}y", "-q"])
            #expect(search.status == 0, "\(search.stderr)")
            let line = try server.waitForLine { $0.contains(#""event": "received""#) }
            #expect(line.contains(#""value": "x\u2028y""#), "\(line)")
            #expect(!line.unicodeScalars.contains { $0.value == 0x2028 }, "\(line)")
        }
    }
}
