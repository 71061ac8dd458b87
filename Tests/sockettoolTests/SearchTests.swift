// SearchTests.swift -- `search` (the guide's app-client.py) against test servers that break the protocol:
// truncated replies, resets, silence, garbage. Each must end with a precise message and a documented exit.
import Foundation
import Glibc
import SocketCore
import Testing

@Suite("search: bad servers get clear errors and documented exit statuses")
struct SearchTests {
    /// The reply a correct server sends for morpheus (2 + 103 + 43 = 148 bytes), from the guide's own Python
    /// server, not from sockettool's encoder.
    static func reply() throws -> [UInt8] {
        try GuidePeer.response(searching: "morpheus")
    }

    @Test(
        "a response cut short: 'server closed the connection after N of M bytes', exit 1",
        arguments: [
            (0, "server closed the connection without a response"),
            (1, "server closed the connection after 1 of 2 bytes (in the 2-byte length prefix)"),
            (7, "server closed the connection after 7 bytes (in the 103-byte JSON header)"),
            (110, "server closed the connection after 110 of 148 bytes (in the content)"),
            (147, "server closed the connection after 147 of 148 bytes (in the content)"),
        ]
    )
    func truncatedResponse(keep: Int, message: String) throws {
        let reply = try Self.reply()
        try #require(reply.count == 148, "the guide's server sent \(reply.hex)")
        let listener = try LoopbackListener()
        let search = try ChildProcess(sockettool: ["search", "127.0.0.1", String(listener.port), "morpheus"])
        let connection = try listener.accept()
        _ = try connection.readFrame()
        try connection.send(Array(reply.prefix(keep)))
        connection.close()
        #expect(try search.waitForExit() == 1, "\(search.transcript)")
        let stderr = search.stderrText
        #expect(stderr.contains("error: "), "\(stderr)")
        #expect(stderr.contains(message), "\(stderr)")
        #expect(!(search.stdoutLines + (try search.remainingLines())).contains { $0.hasPrefix("Got result") })
    }

    @Test("a server that resets: a clear reset error, exit 1")
    func resetResponse() throws {
        let reply = try Self.reply()
        let listener = try LoopbackListener()
        let search = try ChildProcess(sockettool: ["search", "127.0.0.1", String(listener.port), "morpheus"])
        let connection = try listener.accept()
        _ = try connection.readFrame()
        try connection.send(Array(reply.prefix(20)))
        connection.reset()
        #expect(try search.waitForExit() == 1, "\(search.transcript)")
        let stderr = search.stderrText
        #expect(stderr.contains("Connection reset by peer"), "\(stderr)")
        #expect(stderr.contains("127.0.0.1:\(listener.port)"), "\(stderr)")
        #expect(stderr.contains("hint: "), "\(stderr)")
    }

    @Test("a result with terminal controls, a newline and a bidi override prints escaped, on one line")
    func hostileResultIsEscaped() throws {
        let listener = try LoopbackListener()
        let search = try ChildProcess(sockettool: ["search", "127.0.0.1", String(listener.port), "morpheus", "-q"])
        let connection = try listener.accept()
        _ = try connection.readFrame()
        let hostile = "\u{1B}]0;owned\u{07}\u{1B}[2Jok\nGot result: fake \u{9B}31m\u{202E}txt"
        try connection.send(try AppWire.reply(result: hostile))
        connection.close()
        #expect(try search.waitForExit() == 0, "\(search.transcript)")
        let lines = search.stdoutLines + (try search.remainingLines())
        #expect(
            lines == [#"Got result: \x1b]0;owned\x07\x1b[2Jok\x0aGot result: fake \x9b31m\u202etxt"#],
            "\(lines)"
        )
    }

    @Test("a server that never answers: --timeout 1 ends it with exit 75")
    func silentServer() throws {
        let listener = try LoopbackListener()
        let started = ContinuousClock.now
        let search = try ChildProcess(
            sockettool: ["search", "127.0.0.1", String(listener.port), "morpheus", "--timeout", "1"]
        )
        let connection = try listener.accept()
        _ = try connection.readFrame()
        let status = try search.waitForExit()
        let elapsed = ContinuousClock.now - started
        #expect(status == 75, "\(search.transcript)")
        // Not before its deadline; that it was this deadline (not the default 10 s) the message says.
        #expect(elapsed >= .milliseconds(900), "gave up after \(elapsed)")
        #expect(search.stderrText.contains("timed out after 1.0 s"), "\(search.stderrText)")
        connection.close()
    }

    @Test(
        "a response that breaks the protocol: 'invalid response', exit 1, without waiting for the timeout",
        arguments: [
            ("a list header", AppWire.message(header: "[]"), "JSON header must be an object, got list"),
            (
                "content-length 10^12",
                AppWire.message(header: AppWire.header(contentLength: "1000000000000")),
                "content-length 1000000000000 exceeds the limit"
            ),
            (
                "a header without content-type",
                AppWire.message(
                    header: AppWire.header(contentType: nil, contentLength: "2"),
                    content: Array("{}".utf8)
                ),
                "Missing required header 'content-type'."
            ),
            ("a zero-length header", [0x00, 0x00], "JSON header length is 0"),
            (
                // What an echo server sends back: a whole, valid frame, but no answer ("Got result: None").
                "text/json content without a result",
                AppWire.message(
                    header: AppWire.header(contentLength: "41"),
                    content: Array(#"{"action": "search", "value": "morpheus"}"#.utf8)
                ),
                #"its JSON content has no "result" member"#
            ),
        ]
    )
    func invalidResponse(name: String, bytes: [UInt8], message: String) throws {
        let listener = try LoopbackListener()
        // A timeout far past the bounded wait below: exiting within that wait means the client judged the bytes.
        let search = try ChildProcess(
            sockettool: ["search", "127.0.0.1", String(listener.port), "morpheus", "--timeout", "600"]
        )
        let connection = try listener.accept()
        _ = try connection.readFrame()
        try connection.send(bytes)
        // The connection stays open: the client must judge the bytes, not wait for more.
        #expect(try search.waitForExit() == 1, "\(name): \(search.transcript)")
        #expect(search.stderrText.contains("invalid response from 127.0.0.1:\(listener.port)"), "\(search.stderrText)")
        #expect(search.stderrText.contains(message), "\(search.stderrText)")
        // Over our own --max-content, the hint is about that limit, not about the server's protocol.
        let aboutLimit = message.contains("exceeds the limit")
        #expect(search.stderrText.contains("raise --max-content") == aboutLimit, "\(search.stderrText)")
        #expect(search.stderrText.contains("'serve app'") == !aboutLimit, "\(search.stderrText)")
        connection.close()
    }

    @Test("exit 0 only for a whole, valid response: a correct test server")
    func wholeResponse() throws {
        let reply = try Self.reply()
        let listener = try LoopbackListener()
        let search = try ChildProcess(sockettool: ["search", "127.0.0.1", String(listener.port), "morpheus"])
        let connection = try listener.accept()
        let request = try connection.readFrame()
        #expect(request.header.contentType == "text/json")
        #expect(String(decoding: request.content, as: UTF8.self) == #"{"action": "search", "value": "morpheus"}"#)
        // The reply in two pieces, with the connection left open: one whole message is enough.
        try connection.send(Array(reply.prefix(50)))
        try connection.send(Array(reply.dropFirst(50)))
        #expect(try search.waitForExit() == 0, "\(search.transcript)")
        let lines = search.stdoutLines + (try search.remainingLines())
        #expect(lines.contains("Got result: Follow the white rabbit. \u{1F430}"), "\(lines)")
        #expect(connection.readToEnd().end == .eof, "the client closes after the response")
    }
}
