// VerboseWireTests.swift -- what -v adds for the app protocol: the local port a client got (to match the
// server's "Accepted connection from"), and each frame's three parts as they were on the wire, not as
// sockettool would have encoded them.
import Foundation
import Glibc
import SocketCore
import Testing

@Suite("-v: connections and frames as they were on the wire")
struct VerboseWireTests {
    /// A header with spaces and a key order the guide never writes: 124 bytes, not the usual 103.
    static let unusualHeader =
        #"{ "content-length": 41,  "content-type": "text/json",  "byteorder": "big",  "content-encoding": "utf-8" }"#

    @Test("serve app -v: the request's own prefix and header length, then the response's, per connection")
    func serverShowsWireLayout() throws {
        let header = Array(Self.unusualHeader.utf8)
        let content = Array(#"{"action": "search", "value": "morpheus"}"#.utf8)
        #expect(content.count == 41)
        try withServer(["serve", "app", "127.0.0.1", "0", "-v"]) { server, port in
            let client = try LoopbackClient.connect(port: port)
            let local = try client.socket.localAddress()
            try client.send(AppWire.message(header: header, content: content))
            let reply = try client.readFrame()
            #expect(AppWire.result(of: reply) == "Follow the white rabbit. \u{1F430}")

            let prefix =
                String(header.count >> 8, radix: 16).leftPadded(2) + " "
                + String(header.count & 0xFF, radix: 16).leftPadded(2)
            let expected =
                "Request frame from \(local): length prefix \(prefix) (\(header.count)) + "
                + "\(header.count)-byte JSON header + 41-byte content = \(2 + header.count + 41) bytes"
            #expect(try server.waitForLine { $0.hasPrefix("Request frame from") } == expected)
            let response = try server.waitForLine { $0.hasPrefix("Response frame to") }
            #expect(
                response
                    == "Response frame to \(local): length prefix 00 67 (103) + 103-byte JSON header + "
                    + "43-byte content = 148 bytes"
            )
            client.close()
        }
    }

    @Test("serve app without -v prints no frame lines")
    func serverQuietAboutFramesByDefault() throws {
        try withServer(["serve", "app", "127.0.0.1", "0"]) { server, port in
            let search = try ChildProcess.sockettool(["search", "127.0.0.1", String(port), "ring"])
            #expect(search.status == 0, "\(search.stderr)")
            #expect(!search.stdout.contains("frame"), "\(search.stdout)")
            _ = try server.waitForLine { $0.hasPrefix("Closing connection to") }
            #expect(!server.stdoutLines.contains { $0.contains("frame") }, "\(server.stdoutLines)")
        }
    }

    @Test("search -v: its local port is the one the server accepted; the response layout is the server's bytes")
    func searchShowsLocalPortAndResponseLayout() throws {
        let listener = try LoopbackListener()
        let search = try ChildProcess(sockettool: ["search", "127.0.0.1", String(listener.port), "morpheus", "-v"])
        let connection = try listener.accept()
        let request = try connection.readFrame()
        #expect(request.content.count == 41)
        let body = Array(#"{"result": "ok"}"#.utf8)
        let header = AppWire.header(contentLength: String(body.count)) + "    "  // padding a decoder must accept
        try connection.send(AppWire.message(header: header, content: body))
        connection.close()
        #expect(try search.waitForExit() == 0, "\(search.transcript)")

        let lines = search.stdoutLines + (try search.remainingLines())
        let server = "127.0.0.1:\(listener.port)"
        let connected = try #require(lines.first { $0.hasPrefix("Connected to ") }, "\(lines)")
        #expect(connected.hasPrefix("Connected to \(server) from \(connection.address) in "), "\(connected)")
        #expect(
            lines.contains(
                "Request frame to \(server): length prefix 00 67 (103) + 103-byte JSON header + 41-byte content "
                    + "= 146 bytes"
            ),
            "\(lines)"
        )
        let n = header.utf8.count
        let responseLine = try #require(lines.first { $0.hasPrefix("Response frame from") }, "\(lines)")
        #expect(
            responseLine.hasPrefix(
                "Response frame from \(server): length prefix 00 \(String(n, radix: 16)) (\(n)) + \(n)-byte JSON "
                    + "header + \(body.count)-byte content = \(2 + n + body.count) bytes, "
            ),
            "\(responseLine)"
        )
        #expect(responseLine.hasSuffix(" after the request"), "\(responseLine)")
        #expect(lines.contains("Got result: ok"), "\(lines)")
    }

    @Test("serve multi -v: at close, how many bytes came back in how many reads")
    func multiServerTotals() throws {
        try withServer(["serve", "multi", "127.0.0.1", "0", "-v"]) { server, port in
            let client = try LoopbackClient.connect(port: port)
            let local = try client.socket.localAddress()
            try client.send(Array("hello".utf8))
            #expect(try client.readExactly(5) == Array("hello".utf8))
            try client.send(Array(" world!".utf8))
            #expect(try client.readExactly(7) == Array(" world!".utf8))
            client.close()
            let totals = try server.waitForLine { $0.hasPrefix("Echoed ") }
            #expect(totals.hasPrefix("Echoed 12 bytes to \(local) in 2 reads over "), "\(totals)")
            #expect(try server.nextLine() == "Closing connection to \(local)")
        }
    }

    @Test("connect --conns 2 -v: each connection names the local address it got")
    func multiClientConnectedLines() throws {
        try withServer(["serve", "multi", "127.0.0.1", "0", "-q"]) { _, port in
            let run = try ChildProcess.sockettool(["connect", "127.0.0.1", String(port), "--conns", "2", "-v"])
            #expect(run.status == 0, "\(run.stderr)")
            let lines = run.stdout.split(separator: "\n").map(String.init)
            for id in 1...2 {
                let prefix = "Connection \(id) connected to 127.0.0.1:\(port) from 127.0.0.1:"
                #expect(lines.contains { $0.hasPrefix(prefix) }, "\(lines)")
            }
        }
    }

    @Test("search -v --json: frame events carry the numbers as fields")
    func searchFrameEventsInJSON() throws {
        try withServer(["serve", "app", "127.0.0.1", "0"]) { _, port in
            let search = try ChildProcess.sockettool(["search", "127.0.0.1", String(port), "ring", "-v", "--json"])
            #expect(search.status == 0, "\(search.stderr)")
            let events = try search.stdout.split(separator: "\n").map { line in
                try #require(try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any])
            }
            let frames = events.filter { $0["event"] as? String == "frame" }
            #expect(frames.map { $0["direction"] as? String } == ["request_out", "response_in"])
            #expect(frames.map { $0["total_bytes"] as? Int } == [142, 165])
            #expect(frames.allSatisfy { $0["header_length"] as? Int == 103 })
            #expect((frames.last?["round_trip_us"] as? Double).map { $0 > 0 } == true)
            let connected = try #require(events.first { $0["event"] as? String == "connected" })
            #expect((connected["local"] as? String)?.hasPrefix("127.0.0.1:") == true)
        }
    }
}

extension String {
    /// Pads with leading zeros to `width` characters.
    fileprivate func leftPadded(_ width: Int) -> String {
        String(repeating: "0", count: max(0, width - count)) + self
    }
}
