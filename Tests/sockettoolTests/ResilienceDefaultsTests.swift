// ResilienceDefaultsTests.swift -- safe defaults: no host means loopback only, every interface only when
// asked and then said plainly, privileged ports explained, and peer bytes escaped and cut so one event is
// one line (issue 5, point 5).
import Foundation
import Glibc
import SocketCore
import Testing

@Suite("Resilience: safe defaults")
struct ResilienceDefaultsTests {
    static let servers = ["echo", "multi", "app"]

    @Test("no host: the server listens on 127.0.0.1 only, not on 0.0.0.0 or ::", arguments: servers)
    func noHostMeansLoopback(kind: String) throws {
        let server = try ChildProcess(sockettool: ["serve", kind, "0"])
        let port = try server.listeningPort()
        #expect(server.stdoutLines.first == "Listening on 127.0.0.1:\(port)")
        // One listener, on 127.0.0.1: not 0.0.0.0, not [::] or * (dual stack).
        #expect(try ResilienceSockets.listeners(port: port) == ["127.0.0.1:\(port)"])
        #expect(!server.stderrText.contains("notice:"), "\(server.stderrText)")
        server.send(SIGTERM)
        #expect(try server.waitForExit() == 0)
    }

    @Test("0.0.0.0 is allowed and said plainly: one notice line on stderr", arguments: servers)
    func everyInterfaceIsANotice(kind: String) throws {
        let server = try ChildProcess(sockettool: ["serve", kind, "0.0.0.0", "0"])
        let port = try server.listeningPort()
        #expect(server.stdoutLines.first == "Listening on 0.0.0.0:\(port)")
        #expect(try ResilienceSockets.listeners(port: port) == ["0.0.0.0:\(port)"])
        let noticed = eventually { server.stderrText.contains("notice:") }
        #expect(noticed, "no notice: \(server.transcript)")
        let lines = server.stderrText.split(separator: "\n").map(String.init)
        #expect(lines.count == 1, "\(lines)")
        let notice = try #require(lines.first)
        #expect(notice.hasPrefix("notice: "), "plain text when stderr is not a terminal: \(notice.debugDescription)")
        #expect(notice.contains("every interface") && notice.contains(String(port)), "\(notice)")
        #expect(!notice.unicodeScalars.contains("\u{1B}"), "no colour codes on a pipe: \(notice.debugDescription)")
        // Reached over loopback only.
        let client = try LoopbackClient.connect(port: port)
        client.close()
        server.send(SIGTERM)
        #expect(try server.waitForExit() == 0)
    }

    @Test(
        "a privileged port without privilege fails with EACCES and explains CAP_NET_BIND_SERVICE",
        arguments: servers
    )
    func privilegedPort(kind: String) throws {
        let port = try #require(PrivilegedPort.number, "ip_unprivileged_port_start lets anyone bind every port")
        let server = try ChildProcess(unprivilegedSockettool: ["serve", kind, "127.0.0.1", String(port)])
        server.closeInput()
        #expect(try server.waitForExit() == 77, "\(server.transcript)")
        let stderr = server.stderrText
        #expect(stderr.contains("error: bind(127.0.0.1:\(port)): Permission denied"), "\(stderr)")
        #expect(stderr.contains("CAP_NET_BIND_SERVICE"), "\(stderr)")
        let stdout = server.stdoutLines + (try server.remainingLines())
        #expect(stdout.isEmpty, "nothing listens, so no listening line: \(stdout)")
    }

    @Test("serve app: ESC and newlines from a peer are escaped, one line per event, no raw control bytes")
    func appLogEscapesPeerBytes() throws {
        let server = try ResilientServer(.app)
        let escapedValue = #"\u001b[2J\nX"#
        let requests: [(bytes: [UInt8], line: String)] = [
            // A valid request whose value holds ESC [2J and a newline (JSON escapes on the wire).
            (AppWire.searchRequest(escapedValue), #"Received request {'action': 'search', 'value': '\x1b[2J\nX'}"#),
            // The same bytes raw in the header: invalid JSON, and the error line must not carry them.
            (
                AppWire.message(header: "{\"byteorder\": \"\u{1B}[2J\nX\", \"content-length\": 0}"),
                "error: "
            ),
            // A content-type with ESC and a newline: the binary path logs it.
            (
                AppWire.message(
                    header: AppWire.header(contentType: "\"\(escapedValue)\"", contentLength: "1"),
                    content: [0x1B]
                ),
                #"Received \x1b[2J\x0aX request"#
            ),
        ]
        for (bytes, expected) in requests {
            let client = try LoopbackClient.connect(port: server.port)
            let clientPort = client.boundPort
            try client.send(bytes)
            try client.shutdownWrite()
            #expect(client.readToEnd().end == .eof)
            client.close()
            let line = try server.process.waitForLine {
                $0.hasPrefix("Received") || $0.hasPrefix("error:")
            }
            #expect(line.hasPrefix(expected), "\(line.debugDescription)")
            #expect(
                line.hasSuffix(" from 127.0.0.1:\(clientPort)") || line.hasPrefix("error: 127.0.0.1:\(clientPort):"),
                "\(line)"
            )
        }
        #expect(try server.terminate() == 0)
        let lines = server.process.stdoutLines + (try server.process.remainingLines())
        expectOneLinePerEvent(lines)
    }

    @Test("serve multi: ESC and newlines in an echo are shown as \\x1b and \\n on one line")
    func multiLogEscapesPeerBytes() throws {
        let server = try ResilientServer(.multi)
        let client = try LoopbackClient.connect(port: server.port)
        let clientPort = client.boundPort
        let payload = Array("\u{1B}[2J\nX\r\u{7}".utf8)
        try client.send(payload)
        #expect(try client.readExactly(payload.count) == payload)
        client.close()
        let line = try server.process.waitForLine { $0.hasPrefix("Echoing") }
        #expect(line == #"Echoing b'\x1b[2J\nX\r\x07' to 127.0.0.1:"# + String(clientPort))
        #expect(try server.terminate() == 0)
        expectOneLinePerEvent(server.process.stdoutLines + (try server.process.remainingLines()))
    }

    @Test("a long request is cut in the log without splitting a UTF-8 character")
    func longRequestCutKeepsUTF8Whole() throws {
        let server = try ResilientServer(.app)
        // Four cut positions: the 200-character cut lands on each byte of a 4-byte emoji once.
        for pad in 160..<164 {
            let value = String(repeating: "a", count: pad) + String(repeating: "\u{1F436}", count: 40)
            let client = try LoopbackClient.connect(port: server.port)
            try client.send(AppWire.searchRequest(value))
            #expect(client.readToEnd().end == .eof)
            client.close()
            let line = try server.process.waitForLine { $0.hasPrefix("Received request") }
            // ChildProcess decodes stdout as UTF-8 with replacement: a split character shows as U+FFFD.
            #expect(!line.contains("\u{FFFD}"), "pad \(pad): invalid UTF-8 in the log line: ...\(line.suffix(60))")
            #expect(line.contains("..."), "pad \(pad): the long request is cut: \(line.count) characters")
        }
        #expect(try server.terminate() == 0)
    }
}

/// Every line is one known event and holds no raw control character.
private func expectOneLinePerEvent(_ lines: [String], sourceLocation: SourceLocation = #_sourceLocation) {
    let events = [
        "Listening on ", "Accepted connection from ", "Received ", "Sending ", "Closing ", "Echoing ", "error: ",
    ]
    for line in lines where !line.isEmpty && line != "Caught SIGTERM, exiting" {
        #expect(
            events.contains { line.hasPrefix($0) },
            "a line that is no event (a peer's newline?): \(line.debugDescription)",
            sourceLocation: sourceLocation
        )
        #expect(
            !line.unicodeScalars.contains { $0.value < 0x20 || (0x7F...0x9F).contains($0.value) },
            "a raw control character: \(line.debugDescription)",
            sourceLocation: sourceLocation
        )
    }
}
