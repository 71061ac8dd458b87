// HostileInputTests.swift -- bad input against `serve app` never costs more than its own connection: each
// case gets the documented reply (a framed {"result": "Error: ..."} where the framing allows) and a clean
// close, and afterwards the server still answers and holds no more descriptors than before.
import Foundation
import Glibc
import SocketCore
import Testing

/// A request that breaks the protocol, and the reason the server must give.
struct HostileCase: Sendable, CustomTestStringConvertible {
    let name: String
    let bytes: [UInt8]
    /// Shut the write side after sending (the server sees EOF), or leave it open (it must answer anyway).
    let halfClose: Bool
    /// Text the reply's "Error: ..." result must contain.
    let reason: String

    var testDescription: String { name }

    private static let morpheus = AppWire.searchRequest("morpheus")
    private static let jsonContent = Array(#"{"action": "search", "value": "morpheus"}"#.utf8)

    /// A well-formed text/json message around `content`, whatever the content is.
    private static func carrying(_ content: [UInt8]) -> [UInt8] {
        AppWire.message(header: AppWire.header(contentLength: String(content.count)), content: content)
    }

    /// A text/json message whose header has `contentLength` as its raw content-length token.
    private static func declaring(_ contentLength: String) -> [UInt8] {
        AppWire.message(header: AppWire.header(contentLength: contentLength))
    }

    static let all: [HostileCase] = [
        HostileCase(
            name: "EOF in the length prefix",
            bytes: [0x00],
            halfClose: true,
            reason: "closed after 1 of 2 bytes (in the 2-byte length prefix)"
        ),
        HostileCase(
            name: "EOF in the JSON header",
            bytes: Array(morpheus.prefix(22)),
            halfClose: true,
            reason: "closed after 22 bytes (in the 103-byte JSON header)"
        ),
        HostileCase(
            name: "EOF in the content",
            bytes: Array(morpheus.dropLast(5)),
            halfClose: true,
            reason: "closed after \(morpheus.count - 5) of \(morpheus.count) bytes (in the content)"
        ),
        HostileCase(
            name: "zero-length header",
            bytes: [0x00, 0x00],
            halfClose: false,
            reason: "JSON header length is 0"
        ),
        HostileCase(
            name: "content-length -1",
            bytes: declaring("-1"),
            halfClose: false,
            reason: "header 'content-length' must be a non-negative integer, got -1"
        ),
        HostileCase(
            name: "content-length true",
            bytes: declaring("true"),
            halfClose: false,
            reason: "header 'content-length' must be a non-negative integer"
        ),
        HostileCase(
            name: "content-length 1.5",
            bytes: declaring("1.5"),
            halfClose: false,
            reason: "header 'content-length' must be a non-negative integer"
        ),
        HostileCase(
            name: "content-length \"10\"",
            bytes: declaring(#""10""#),
            halfClose: false,
            reason: "header 'content-length' must be a non-negative integer"
        ),
        HostileCase(
            name: "content-length 1e400",
            bytes: declaring("1e400"),
            halfClose: false,
            reason: "header 'content-length' must be a non-negative integer"
        ),
        HostileCase(
            name: "content-length one byte over --max-content",
            bytes: declaring("1048577"),
            halfClose: false,
            reason: "content-length 1048577 exceeds the limit of 1048576 bytes"
        ),
        HostileCase(
            name: "duplicate keys",
            bytes: AppWire.message(
                header: #"{"byteorder": "little", "content-type": "text/json", "content-encoding": "utf-8", "#
                    + #""content-length": 41, "content-length": 41}"#,
                content: jsonContent
            ),
            halfClose: false,
            reason: "duplicate key 'content-length'"
        ),
        HostileCase(
            name: "header missing byteorder",
            bytes: AppWire.message(header: AppWire.header(byteorder: nil, contentLength: "41"), content: jsonContent),
            halfClose: false,
            reason: "Missing required header 'byteorder'."
        ),
        HostileCase(
            name: "header missing content-type",
            bytes: AppWire.message(
                header: AppWire.header(contentType: nil, contentLength: "41"),
                content: jsonContent
            ),
            halfClose: false,
            reason: "Missing required header 'content-type'."
        ),
        HostileCase(
            name: "header missing content-encoding",
            bytes: AppWire.message(
                header: AppWire.header(contentEncoding: nil, contentLength: "41"),
                content: jsonContent
            ),
            halfClose: false,
            reason: "Missing required header 'content-encoding'."
        ),
        HostileCase(
            name: "header missing content-length",
            bytes: AppWire.message(header: AppWire.header(contentLength: nil), content: jsonContent),
            halfClose: false,
            reason: "Missing required header 'content-length'."
        ),
        HostileCase(
            name: "header is a list",
            bytes: AppWire.message(header: #"["byteorder", "little"]"#),
            halfClose: false,
            reason: "JSON header must be an object, got list"
        ),
        HostileCase(
            name: "header is a string",
            bytes: AppWire.message(header: #""text/json""#),
            halfClose: false,
            reason: "JSON header must be an object, got str"
        ),
        HostileCase(
            name: "header is not JSON",
            bytes: AppWire.message(header: "{byteorder: little}"),
            halfClose: false,
            reason: "invalid JSON header"
        ),
        HostileCase(
            name: "header with invalid UTF-8",
            bytes: AppWire.message(
                header: Array(#"{"byteorder": "lit"#.utf8) + [0xFF, 0xFE]
                    + Array(
                        #"tle", "content-type": "text/json", "content-encoding": "utf-8", "content-length": 0}"#.utf8
                    )
            ),
            halfClose: false,
            reason: "invalid JSON header"
        ),
        HostileCase(
            name: "header nested 100 deep",
            bytes: AppWire.message(
                header: #"{"x": "# + String(repeating: "[", count: 100) + String(repeating: "]", count: 100) + ", "
                    + AppWire.header(contentLength: "0").dropFirst()
            ),
            halfClose: false,
            reason: "nesting deeper than"
        ),
        HostileCase(
            name: "byteorder middle",
            bytes: AppWire.message(header: AppWire.header(byteorder: #""middle""#, contentLength: "0")),
            halfClose: false,
            reason: #"header 'byteorder' must be "little" or "big""#
        ),
        HostileCase(
            name: "text/json in latin-1",
            bytes: AppWire.message(
                header: AppWire.header(contentEncoding: #""latin-1""#, contentLength: "41"),
                content: jsonContent
            ),
            halfClose: false,
            reason: "unsupported content-encoding 'latin-1'"
        ),
        HostileCase(
            name: "content with invalid UTF-8",
            bytes: carrying(Array(#"{"action": "search", "value": ""#.utf8) + [0xC3] + Array(#""}"#.utf8)),
            halfClose: false,
            reason: "content is not valid utf-8."
        ),
        HostileCase(
            name: "content is not JSON",
            bytes: carrying(Array(#"{"action": "#.utf8)),
            halfClose: false,
            reason: "invalid JSON content"
        ),
    ]
}

@Suite("serve app: bad input costs only its own connection")
struct HostileInputTests {
    @Test("a malformed request gets a framed error reply and a clean close", arguments: HostileCase.all)
    func malformedRequest(_ hostile: HostileCase) throws {
        let server = try AppServerUnderTest()
        let client = try LoopbackClient.connect(port: server.port)
        try client.send(hostile.bytes)
        if hostile.halfClose { try client.shutdownWrite() }
        let (bytes, end) = client.readToEnd()
        #expect(end == .eof, "closed with a FIN after the reply")
        let reply = try AppWire.decodeOne(bytes)
        #expect(reply.trailing == 0, "one reply, nothing after it")
        let result = try #require(AppWire.result(of: reply.frame), "not {\"result\": ...}: \(bytes.hex)")
        #expect(result.hasPrefix("Error: "), "\(result)")
        #expect(result.contains(hostile.reason), "\(result)")
        client.close()
        // One escaped line in the server's log names the peer and the reason.
        let logged = try server.process.waitForLine { $0.hasPrefix("error: 127.0.0.1:") }
        #expect(logged.contains(hostile.reason), "\(logged)")
        #expect(logged.unicodeScalars.allSatisfy { $0.value >= 0x20 && $0.value < 0x7F }, "escaped: \(logged)")
        try server.expectHealthy()
    }

    @Test(
        "JSON content that is empty or not an object gets an answer, not a spin",
        arguments: [
            ("{}", "Error: invalid action 'None'."),
            ("[]", "Error:"),
            (#""""#, "Error:"),
            ("0", "Error:"),
            ("null", "Error:"),
            (#"{"action": "search"}"#, "No match for 'None'."),
        ]
    )
    func emptyOrOddContent(content: String, expected: String) throws {
        let server = try AppServerUnderTest()
        let client = try LoopbackClient.connect(port: server.port)
        try client.send(
            AppWire.message(
                header: AppWire.header(contentLength: String(content.utf8.count)),
                content: Array(content.utf8)
            )
        )
        let (bytes, end) = client.readToEnd()
        #expect(end == .eof)
        let result = try #require(AppWire.result(of: try AppWire.decodeOne(bytes).frame), "\(bytes.hex)")
        #expect(result.hasPrefix(expected), "\(result)")
        client.close()
        try server.expectHealthy()
    }

    @Test(
        "the guide peer's raw client sees a framed error and a FIN",
        arguments: [
            ("0000", "JSON header length is 0"), ("ffff7b", "closed after 3 bytes (in the 65535-byte JSON header)"),
        ]
    )
    func guidePeerRawClient(hex: String, reason: String) throws {
        let server = try AppServerUnderTest()
        let peer = try GuidePeer.run(["raw", "127.0.0.1", String(server.port), hex])
        #expect(peer.status == 0, "\(peer.lines)\n\(peer.stderr)")
        #expect(peer.lines.contains("RAW-END EOF"), "\(peer.lines)")
        let bytes = try #require(GuidePeer.raw("RAW-RESPONSE", in: peer.lines))
        let result = try #require(AppWire.result(of: try AppWire.decodeOne(bytes).frame), "\(bytes.hex)")
        #expect(result.hasPrefix("Error: ") && result.contains(reason), "\(result)")
        try server.expectHealthy()
    }

    @Test("one byte per send, back to back: the request is still answered")
    func oneBytePerSend() throws {
        let server = try AppServerUnderTest()
        let client = try LoopbackClient.connect(port: server.port)
        try client.sendOneBytePerCall(AppWire.searchRequest("ring"))
        let (bytes, end) = client.readToEnd()
        #expect(end == .eof)
        #expect(
            AppWire.result(of: try AppWire.decodeOne(bytes).frame)
                == "In the caves beneath the Misty Mountains. \u{1F48D}"
        )
        client.close()
        try server.expectHealthy()
    }

    @Test("half-close right after the request: the reply still comes")
    func halfCloseAfterRequest() throws {
        let server = try AppServerUnderTest()
        let client = try LoopbackClient.connect(port: server.port)
        try client.send(AppWire.searchRequest("\u{1F436}"))
        try client.shutdownWrite()
        let (bytes, end) = client.readToEnd()
        #expect(end == .eof)
        #expect(AppWire.result(of: try AppWire.decodeOne(bytes).frame) == "\u{1F43E} Playing ball! \u{1F3D0}")
        client.close()
        try server.expectHealthy()
    }

    @Test("\\xff\\xff{ then silence: closed at the --request-timeout deadline, not before")
    func stalledRequestIsCutAtTheDeadline() throws {
        let server = try AppServerUnderTest(extra: ["--request-timeout", "1"])
        let started = ContinuousClock.now
        let client = try LoopbackClient.connect(port: server.port)
        try client.send([0xFF, 0xFF, UInt8(ascii: "{")])
        let (bytes, end) = client.readToEnd()
        let elapsed = ContinuousClock.now - started
        #expect(end == .eof)
        // Not before the deadline; that it was --request-timeout (not the default 10 s) the reply says.
        #expect(elapsed >= .milliseconds(900), "closed after \(elapsed)")
        let result = try #require(AppWire.result(of: try AppWire.decodeOne(bytes).frame), "\(bytes.hex)")
        #expect(result.hasPrefix("Error: request not complete after 1.0 s"), "\(result)")
        client.close()
        try server.expectHealthy()
    }

    @Test("a request dripping one byte every 150 ms is cut off mid-request at the total deadline")
    func drippingRequestIsCutAtTheDeadline() throws {
        let server = try AppServerUnderTest(extra: ["--request-timeout", "1"])
        let started = ContinuousClock.now
        let client = try LoopbackClient.connect(port: server.port)
        var sent = 0
        let request = AppWire.searchRequest("morpheus")
        // Each byte arrives well within any per-read timeout; only a deadline for the whole request stops it.
        // The whole request at this pace would take 20 s: a server without that deadline would answer it.
        while sent < request.count, try client.socket.wait(for: .readable, timeout: .milliseconds(150)) == .timedOut {
            try client.send([request[sent]])
            sent += 1
        }
        let (bytes, end) = client.readToEnd()
        let elapsed = ContinuousClock.now - started
        #expect(sent < request.count, "the drip of all \(sent) bytes went on for \(elapsed) and was answered")
        // The server shuts down its write side and drains what still drips in (lingering), so the close is a
        // FIN, not a reset, and the reply is there to read.
        #expect(end == .eof)
        #expect(elapsed >= .milliseconds(900), "cut after \(elapsed)")
        let result = try #require(AppWire.result(of: try AppWire.decodeOne(bytes).frame), "\(bytes.hex)")
        #expect(result.hasPrefix("Error: request not complete after 1.0 s"), "\(result)")
        client.close()
        try server.expectHealthy()
    }

    @Test("--max-buffered: the client whose bytes pass the shared budget is refused; the others are served")
    func sharedRequestBudget() throws {
        // Room for one largest request (40,000 + 65,537 bytes) and a little: two 40,000-byte partial
        // requests fit, a third does not.
        let server = try AppServerUnderTest(extra: ["--max-content", "40000", "--max-buffered", "110000"])
        let content = Array(repeating: UInt8(ascii: "x"), count: 40000)
        let request = AppWire.message(
            header: AppWire.header(
                contentType: #""binary/x""#,
                contentEncoding: #""binary""#,
                contentLength: String(content.count)
            ),
            content: content
        )
        // Two clients hold 40,000 bytes of their requests each (read by the server: their Recv-Q is empty).
        var holders: [LoopbackClient] = []
        for _ in 0..<2 {
            let holder = try LoopbackClient.connect(port: server.port)
            try holder.send(Array(request.prefix(40000)))
            let read = try eventually {
                try ResilienceSockets.serverSide(port: server.port, client: holder.boundPort)?.receiveQueue == 0
            }
            #expect(read)
            holders.append(holder)
        }
        // A third would bring the total past 110,000: refused with a framed error.
        let third = try LoopbackClient.connect(port: server.port)
        try third.send(Array(request.prefix(40000)))
        let refusal = try #require(AppWire.result(of: try third.readFrame()))
        #expect(
            refusal == "Error: the server holds as many request bytes as it may (--max-buffered 107.4 KiB); try again."
        )
        third.close()
        // The holders finish and are answered; afterwards the budget is free again.
        for holder in holders {
            try holder.send(Array(request.dropFirst(40000)))
            let answer = try holder.readFrame()
            #expect(answer.content == Array("First 10 bytes of request: xxxxxxxxxx".utf8))
            holder.close()
        }
        try server.expectHealthy()
        let later = try LoopbackClient.connect(port: server.port)
        try later.send(request)
        #expect(try later.readFrame().header.contentType == "binary/custom-server-binary-type")
        later.close()
    }

    @Test("content-length 10^12: a framed error at the header, the connection closed, no memory growth")
    func hugeContentLength() throws {
        // No deadline can end the request within the bounded wait: the answer must come from the header.
        let server = try AppServerUnderTest(extra: ["--request-timeout", "600"])
        let rssBefore = try ProcessProbe.residentKiB(server.process.pid)
        let client = try LoopbackClient.connect(port: server.port)
        try client.send(AppWire.message(header: AppWire.header(contentLength: "1000000000000")))
        let (bytes, end) = client.readToEnd()
        #expect(end == .eof)
        let result = try #require(AppWire.result(of: try AppWire.decodeOne(bytes).frame), "\(bytes.hex)")
        #expect(result == "Error: content-length 1000000000000 exceeds the limit of 1048576 bytes.")
        if ProcessProbe.memoryFiguresAreMeaningful {
            let growth = try ProcessProbe.residentKiB(server.process.pid) - rssBefore
            #expect(growth < 4 << 10, "server RSS grew by \(growth) KiB")
        }
        client.close()
        try server.expectHealthy()
    }

    @Test(
        "a second request pipelined on the same connection: the first is answered, then a clean FIN",
        arguments: [0, 512 << 10]
    )
    func pipelinedSecondRequest(secondContentBytes: Int) throws {
        let server = try AppServerUnderTest()
        let client = try LoopbackClient.connect(port: server.port)
        // A small second request arrives with the first in one read; a big one is still in the server's
        // receive queue when the first is answered, so a plain close() there would send RST.
        let second =
            secondContentBytes == 0
            ? AppWire.searchRequest("ring")
            : AppProtocol.binaryRequest(value: String(repeating: "x", count: secondContentBytes)).encoded()
        try client.send(AppWire.searchRequest("morpheus") + second)
        let (bytes, end) = client.readToEnd()
        #expect(end == .eof, "FIN, not RST: a reset can destroy the answer in the client's receive queue")
        let reply = try AppWire.decodeOne(bytes)
        #expect(AppWire.result(of: reply.frame) == "Follow the white rabbit. \u{1F430}")
        #expect(reply.trailing == 0, "the second request is not answered")
        client.close()
        try server.expectHealthy()
    }

    @Test(
        "a client that resets right after sending costs only its connection",
        arguments: [("a whole request", 146), ("half a header", 40), ("nothing", 0)]
    )
    func resetAfterSending(what: String, count: Int) throws {
        let server = try AppServerUnderTest()
        for _ in 0..<3 {
            let client = try LoopbackClient.connect(port: server.port)
            try client.send(Array(AppWire.searchRequest("morpheus").prefix(count)))
            client.reset()
        }
        try server.expectHealthy()
    }

    @Test("many bad clients at once do not hold up a good one")
    func badClientsDoNotBlockGoodOnes() throws {
        // No deadline ends the stalled requests within the bounded waits: the good one is served beside them.
        let server = try AppServerUnderTest(extra: ["--request-timeout", "600"])
        let stalled = try (0..<20).map { _ in try LoopbackClient.connect(port: server.port) }
        for client in stalled { try client.send([0x00, 0x67, UInt8(ascii: "{")]) }
        let good = try LoopbackClient.connect(port: server.port)
        try good.send(AppWire.searchRequest("morpheus"))
        #expect(AppWire.result(of: try good.readFrame()) == "Follow the white rabbit. \u{1F430}")
        let ended = stalled.compactMap { $0.endedNow().end }
        #expect(ended.isEmpty, "stalled clients were closed before the good one was served: \(ended)")
        good.close()
        for client in stalled { client.close() }
        try server.expectHealthy()
    }
}

/// A `serve app` process with its descriptor count taken after one good request.
private final class AppServerUnderTest {
    let process: ChildProcess
    let port: UInt16
    /// Open descriptors when idle.
    private(set) var baseline = 0

    init(extra: [String] = []) throws {
        process = try ChildProcess(sockettool: ["serve", "app", "127.0.0.1", "0", "-q"] + extra)
        port = try process.listeningPort()
        try answersMorpheus()
        baseline = try ProcessProbe.openDescriptors(process.pid)
    }

    /// One good request gets the guide's answer.
    func answersMorpheus(sourceLocation: SourceLocation = #_sourceLocation) throws {
        let client = try LoopbackClient.connect(port: port)
        defer { client.close() }
        try client.send(AppWire.searchRequest("morpheus"))
        let frame = try client.readFrame()
        #expect(
            AppWire.result(of: frame) == "Follow the white rabbit. \u{1F430}",
            "the server no longer answers a valid request",
            sourceLocation: sourceLocation
        )
    }

    /// Still running, still answering, and back to its idle descriptor count.
    func expectHealthy(sourceLocation: SourceLocation = #_sourceLocation) throws {
        #expect(waitpid(process.pid, nil, WNOHANG) == 0, "the server exited", sourceLocation: sourceLocation)
        try answersMorpheus(sourceLocation: sourceLocation)
        var now = -1
        let settled = try eventually {
            now = try ProcessProbe.openDescriptors(process.pid)
            return now <= baseline
        }
        #expect(settled, "\(now) descriptors open, \(baseline) when idle", sourceLocation: sourceLocation)
    }
}
