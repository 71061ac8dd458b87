// InteropTests.swift -- sockettool and the independent Python peer (Tests/Interop/guide_peer.py, the guide's
// app-client.py and app-server.py) on real sockets, both ways: same bytes on the wire, same lines printed.
import Foundation
import Glibc
import SocketCore
import Testing

/// One exchange of the guide's app protocol, as both clients spell it.
struct InteropCase: Sendable, CustomTestStringConvertible {
    let name: String
    /// `guide_peer.py client HOST PORT` + these (ACTION VALUE).
    let peerArguments: [String]
    /// `sockettool search HOST PORT` + these.
    let searchArguments: [String]
    /// The line both clients must print.
    let expected: String
    /// The line `search` prints where it differs: it escapes control characters the guide prints raw.
    var searchExpected: String? = nil

    var testDescription: String { name }

    static let all: [InteropCase] = [
        InteropCase(
            name: "morpheus",
            peerArguments: ["search", "morpheus"],
            searchArguments: ["morpheus"],
            expected: "Got result: Follow the white rabbit. \u{1F430}"
        ),
        InteropCase(
            name: "ring",
            peerArguments: ["search", "ring"],
            searchArguments: ["ring"],
            expected: "Got result: In the caves beneath the Misty Mountains. \u{1F48D}"
        ),
        InteropCase(
            name: "dog emoji",
            peerArguments: ["search", "\u{1F436}"],
            searchArguments: ["\u{1F436}"],
            expected: "Got result: \u{1F43E} Playing ball! \u{1F3D0}"
        ),
        InteropCase(
            name: "unknown value",
            peerArguments: ["search", "kafka"],
            searchArguments: ["kafka"],
            expected: "Got result: No match for 'kafka'."
        ),
        InteropCase(
            name: "invalid action",
            peerArguments: ["frobnicate", "morpheus"],
            searchArguments: ["--action", "frobnicate", "morpheus"],
            expected: "Got result: Error: invalid action 'frobnicate'."
        ),
        InteropCase(
            name: "binary request with an emoji",
            peerArguments: ["binary", "\u{1F603}"],
            searchArguments: ["--binary", "\u{1F603}"],
            expected: #"Got response: b'First 10 bytes of request: binary\xf0\x9f\x98\x83'"#
        ),
        InteropCase(
            name: "a value that needs JSON escapes",
            peerArguments: ["search", "Zo\u{EB} \"q\" \\ \t\u{1}"],
            searchArguments: ["Zo\u{EB} \"q\" \\ \t\u{1}"],
            expected: "Got result: No match for 'Zo\u{EB} \"q\" \\ \t\u{1}'.",
            searchExpected: #"Got result: No match for 'Zo\#u{EB} "q" \ \x09\x01'."#
        ),
        InteropCase(
            name: "binary request with a single quote: Python's repr switches to double quotes",
            peerArguments: ["binary", "it's"],
            searchArguments: ["--binary", "it's"],
            expected: #"Got response: b"First 10 bytes of request: binaryit's""#
        ),
    ]
}

@Suite("Interop with the guide's Python programs, both ways")
struct InteropTests {
    @Test(
        "the guide's client gets the same bytes and prints the same lines from serve app as from the guide's server",
        arguments: InteropCase.all
    )
    func guideClientAgainstBothServers(_ exchange: InteropCase) throws {
        let ours = try ChildProcess(sockettool: ["serve", "app", "127.0.0.1", "0"])
        let oursPort = try ours.listeningPort()
        let (guide, guidePort) = try GuidePeer.startServer()

        let viaOurs = try GuidePeer.run(["client", "127.0.0.1", String(oursPort)] + exchange.peerArguments)
        let viaGuide = try GuidePeer.run(["client", "127.0.0.1", String(guidePort)] + exchange.peerArguments)
        #expect(viaOurs.status == 0, "\(viaOurs.lines)\n\(viaOurs.stderr)")
        #expect(viaGuide.status == 0, "\(viaGuide.lines)\n\(viaGuide.stderr)")

        let responseFromOurs = try #require(GuidePeer.raw("RAW-RESPONSE", in: viaOurs.lines))
        let responseFromGuide = try #require(GuidePeer.raw("RAW-RESPONSE", in: viaGuide.lines))
        #expect(!responseFromGuide.isEmpty)
        #expect(responseFromOurs.hex == responseFromGuide.hex)
        #expect(resultLines(viaOurs.lines) == [exchange.expected])
        #expect(resultLines(viaGuide.lines) == [exchange.expected])
        // Everything else the guide's client printed is the same too, but for the port.
        #expect(viaOurs.lines.map(maskingAddresses) == viaGuide.lines.map(maskingAddresses))

        // And the servers logged the same events: Accepted, Received request {...}, Sending b'...', Closing.
        let oursLog = try serverEvents(ours)
        let guideLog = try serverEvents(guide)
        #expect(oursLog.count == 4, "\(oursLog)")
        #expect(oursLog.map(maskingAddresses) == guideLog.map(maskingAddresses))
    }

    /// Numbers are where Python and Swift print differently: Python writes floats positionally up to 16
    /// digits before the point (9500000000000000.0, Swift's 9.5e+15), keeps integers of any size exact, and
    /// turns 1E+2 into 100.0. (Lists and objects are left out: the guide's server cannot hash them and drops
    /// the connection without a reply.)
    @Test(
        "non-string values: serve app answers with the guide server's bytes",
        arguments: [
            "9.5e15", "9007199254740993", "1e16", "1e-5", "0.0001", "-0.0", "-0", "1E+2", "12345678901234567.0",
            "123456789012345678901234567890", "9999999999999998.0", "4.35e15", "2e20", "3e-7", "true", "null",
        ]
    )
    func numbersAnsweredLikeTheGuide(value: String) throws {
        let ours = try ChildProcess(sockettool: ["serve", "app", "127.0.0.1", "0", "-q"])
        let oursPort = try ours.listeningPort()
        let (guide, guidePort) = try GuidePeer.startServer()
        let content = Array(#"{"action": "search", "value": \#(value)}"#.utf8)
        let request = AppWire.message(header: AppWire.header(contentLength: String(content.count)), content: content)
        var replies: [[UInt8]] = []
        for port in [oursPort, guidePort] {
            let client = try LoopbackClient.connect(port: port)
            try client.send(request)
            let (bytes, _) = client.readToEnd()
            replies.append(bytes)
            client.close()
        }
        #expect(!replies[1].isEmpty)
        #expect(
            replies[0] == replies[1],
            "ours: \(String(decoding: replies[0], as: UTF8.self))\nguide: \(String(decoding: replies[1], as: UTF8.self))"
        )
        withExtendedLifetime((ours, guide)) {}
    }

    @Test(
        "search prints the same lines against the guide's server as against serve app, and exits 0",
        arguments: InteropCase.all
    )
    func searchAgainstBothServers(_ exchange: InteropCase) throws {
        let ours = try ChildProcess(sockettool: ["serve", "app", "127.0.0.1", "0", "-q"])
        let oursPort = try ours.listeningPort()
        let (guide, guidePort) = try GuidePeer.startServer()

        let viaOurs = try ChildProcess.sockettool(["search", "127.0.0.1", String(oursPort)] + exchange.searchArguments)
        let viaGuide = try ChildProcess.sockettool(
            ["search", "127.0.0.1", String(guidePort)] + exchange.searchArguments
        )
        #expect(viaOurs.status == 0, "\(viaOurs.stderr)")
        #expect(viaGuide.status == 0, "\(viaGuide.stderr)")
        let oursLines = viaOurs.stdout.split(separator: "\n").map(String.init)
        let guideLines = viaGuide.stdout.split(separator: "\n").map(String.init)
        #expect(resultLines(oursLines) == [exchange.searchExpected ?? exchange.expected])
        #expect(resultLines(guideLines) == [exchange.searchExpected ?? exchange.expected])
        #expect(oursLines.map(maskingAddresses) == guideLines.map(maskingAddresses))

        // Both servers are still up, and stop as the guide's does on a signal.
        guide.send(SIGTERM)
        #expect(try guide.waitForExit() == 0)
        #expect(try guide.remainingLines().last == "Caught keyboard interrupt, exiting")
        ours.send(SIGTERM)
        #expect(try ours.waitForExit() == 0)
    }

    @Test("search puts exactly the guide client's request bytes on the wire", arguments: InteropCase.all)
    func searchSendsTheGuideClientsBytes(_ exchange: InteropCase) throws {
        // Our search, against a test server that records the request and answers.
        let listener = try LoopbackListener()
        let search = try ChildProcess(
            sockettool: ["search", "127.0.0.1", String(listener.port)] + exchange.searchArguments
        )
        let ourRequest = try recordRequestAndAnswer(on: listener)
        #expect(try search.waitForExit() == 0, "\(search.transcript)")
        let searchLines = search.stdoutLines + (try search.remainingLines())
        let ourSending = try #require(searchLines.first { $0.hasPrefix("Sending b'") }, "\(searchLines)")

        // The guide's client, the same way.
        let guideListener = try LoopbackListener()
        let guide = try ChildProcess(
            "python3",
            [GuidePeer.script, "client", "127.0.0.1", String(guideListener.port)] + exchange.peerArguments
        )
        let guideRequest = try recordRequestAndAnswer(on: guideListener)
        #expect(try guide.waitForExit() == 0, "\(guide.transcript)")
        let guideLines = guide.stdoutLines + (try guide.remainingLines())
        #expect(GuidePeer.raw("RAW-REQUEST", in: guideLines) == guideRequest, "the peer reports what it sent")
        let guideSending = try #require(guideLines.first { $0.hasPrefix("Sending b'") }, "\(guideLines)")

        #expect(ourRequest.hex == guideRequest.hex)
        #expect(maskingAddresses(ourSending) == maskingAddresses(guideSending))
    }
}

// MARK: - Helpers

/// The "Got result:" / "Got response:" lines.
private func resultLines(_ lines: [String]) -> [String] {
    lines.filter { $0.hasPrefix("Got result: ") || $0.hasPrefix("Got response: ") }
}

/// A server's lines for its one connection, up to and including "Closing connection to ...".
private func serverEvents(_ server: ChildProcess) throws -> [String] {
    var lines: [String] = []
    while true {
        let line = try server.waitForLine { !$0.hasPrefix("Listening on") }
        lines.append(line)
        if line.hasPrefix("Closing connection to") { return lines }
    }
}

/// Accepts one client, reads one whole message (recording its exact bytes), answers with a small text/json
/// response, and closes.
/// - Returns: The request's bytes as they arrived.
private func recordRequestAndAnswer(on listener: LoopbackListener) throws -> [UInt8] {
    let connection = try listener.accept()
    defer { connection.close() }
    var decoder = FrameDecoder()
    var raw: [UInt8] = []
    while true {
        if try decoder.next() != nil { break }
        let chunk = try connection.readSome()
        guard !chunk.isEmpty else { throw LoopbackFailure("the client closed before a whole request") }
        decoder.feed(chunk)
        raw += chunk
    }
    #expect(decoder.bufferedByteCount == 0, "the client sent more than one message")
    try connection.send(AppProtocol.resultFrame("recorded").encoded())
    return raw
}
