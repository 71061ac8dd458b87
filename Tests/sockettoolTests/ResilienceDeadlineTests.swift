// ResilienceDeadlineTests.swift -- every deadline with a short value: the request deadline of serve app, the
// idle timeouts of serve multi and serve echo, and the connect and reply timeouts of the clients (issue 5,
// point 3). Each fires, not before its time, and it is that deadline that fires (the message names it, or
// every other deadline is far past the test's bounded waits); how late it fires on a busy machine is not
// the test's business.
import Foundation
import Glibc
import SocketCore
import Testing

@Suite("Resilience: deadlines with short values")
struct ResilienceDeadlineTests {
    // MARK: - Servers

    @Test("serve app --request-timeout 0.5: a stalled request gets the timeout error and a FIN, not before 0.5 s")
    func appRequestTimeout() throws {
        let server = try ResilientServer(.app, ["-q", "--request-timeout", "0.5"])
        let started = ContinuousClock.now
        let client = try LoopbackClient.connect(port: server.port)
        let clientPort = client.boundPort
        try client.send(Array(AppWire.searchRequest("morpheus").prefix(30)))
        let (bytes, end) = client.readToEnd()
        let elapsed = ContinuousClock.now - started
        client.close()
        #expect(end == .eof)
        #expect(elapsed >= .milliseconds(450), "closed after \(elapsed)")
        let result = try #require(AppWire.result(of: try AppWire.decodeOne(bytes).frame), "\(bytes.hex)")
        #expect(result.hasPrefix("Error: request not complete after 0.5 s"), "\(result)")
        let logged = try server.process.waitForLine { $0.hasPrefix("error: 127.0.0.1:\(clientPort):") }
        #expect(logged.contains("request not complete after 0.5 s"), "\(logged)")
        try server.exchange()
    }

    @Test("request deadlines that expire while the loop is busy: each stalled client gets its error, no spin, no hang")
    func requestDeadlinesUnderLoad() throws {
        let server = try ResilientServer(.app, ["-q", "--request-timeout", "0.5"])
        // 200 stalled requests opened in a burst: their deadlines fall within a few milliseconds of each other.
        let stalled = try (0..<200).map { _ in try LoopbackClient.connect(port: server.port) }
        defer { for client in stalled { client.close() } }
        for client in stalled { try client.send([0x00]) }
        // Meanwhile the loop is kept busy with good requests, so deadlines come due in the middle of turns.
        let busyUntil = ContinuousClock.now + .milliseconds(1500)
        var exchanges = 0
        var failure: String?
        while failure == nil && ContinuousClock.now < busyUntil {
            server.drainOutput()
            do {
                try server.exchange()
                exchanges += 1
            } catch {
                failure = "exchange \(exchanges + 1) failed: \(error)"
            }
        }
        #expect(failure == nil, "the server stopped answering while deadlines expired: \(failure ?? "")")
        var ended: [Int: StreamEnd] = [:]
        _ = eventually {
            for (index, client) in stalled.enumerated() where ended[index] == nil {
                if let end = client.endedNow().end { ended[index] = end }
            }
            return ended.count == stalled.count
        }
        #expect(ended.count == stalled.count, "\(stalled.count - ended.count) stalled clients never got their timeout")
        let ticksBefore = try ProcessProbe.cpuTicks(server.pid)
        measuringWindow(.milliseconds(500))
        let ticks = try ProcessProbe.cpuTicks(server.pid) - ticksBefore
        print("deadlines under load: \(exchanges) exchanges in 1.5 s, \(ended.count) timed out, \(ticks) ticks idle")
        #expect(ticks < 10, "\(ticks) CPU ticks in 0.5 s after the deadlines: the server spins")
        #expect(try server.terminate() == 0, "\(server.diagnostics)")
    }

    @Test(
        "the request-timeout error counts every byte the client sent (docs: 'N bytes received')",
        arguments: [1, 2, 30, 110, 140]
    )
    func requestTimeoutCountsBytesReceived(sent: Int) throws {
        let server = try ResilientServer(.app, ["-q", "--request-timeout", "0.5"])
        let client = try LoopbackClient.connect(port: server.port)
        defer { client.close() }
        try client.send(Array(AppWire.searchRequest("morpheus").prefix(sent)))
        let (bytes, _) = client.readToEnd()
        let result = try #require(AppWire.result(of: try AppWire.decodeOne(bytes).frame), "\(bytes.hex)")
        #expect(result == "Error: request not complete after 0.5 s (\(sent) bytes received).")
    }

    @Test("serve multi --idle-timeout 2: traffic keeps a connection open past it; 2 s of silence closes it")
    func multiIdleTimeoutFollowsTraffic() throws {
        let server = try ResilientServer(.multi, ["--idle-timeout", "2"])
        let client = try LoopbackClient.connect(port: server.port)
        defer { client.close() }
        let connected = ContinuousClock.now
        // A byte every 200 ms for 3 s: the connection outlives its idle timeout, and no silence comes near it
        // (a stall of this test of 1.8 s would be needed).
        var index = 0
        while ContinuousClock.now - connected < .seconds(3) {
            #expect(try client.socket.wait(for: .readable, timeout: .milliseconds(200)) == .timedOut)
            let byte = UInt8(ascii: "a") + UInt8(index % 26)
            try client.send([byte])
            #expect(try client.readExactly(1) == [byte], "closed while active")
            index += 1
        }
        let lastTraffic = ContinuousClock.now
        let (bytes, end) = client.readToEnd()
        let silence = ContinuousClock.now - lastTraffic
        #expect(bytes.isEmpty)
        #expect(end == .eof)
        #expect(silence >= .milliseconds(1950), "closed after \(silence) of silence")
        _ = try server.process.waitForLine { $0.hasPrefix("Closing idle connection to 127.0.0.1:\(client.boundPort)") }
        try server.exchange()
    }

    @Test(
        "serve echo --idle-timeout 0.5: the silent client is closed, not before; the server exits, or with --keep serves the next"
    )
    func echoIdleTimeout() throws {
        for keep in [false, true] {
            let server = try ChildProcess(
                sockettool: ["serve", "echo", "127.0.0.1", "0", "--idle-timeout", "0.5"] + (keep ? ["--keep"] : [])
            )
            let port = try server.listeningPort()
            let client = try LoopbackClient.connect(port: port)
            defer { client.close() }
            try client.send(Array("hello".utf8))
            #expect(try client.readExactly(5) == Array("hello".utf8))
            let lastTraffic = ContinuousClock.now
            let (_, end) = client.readToEnd()
            let silence = ContinuousClock.now - lastTraffic
            #expect(end == .eof, "keep \(keep)")
            #expect(silence >= .milliseconds(450), "keep \(keep): closed after \(silence)")
            let closing = "Closing idle connection to 127.0.0.1:\(client.boundPort)"
            let line = try server.waitForLine { $0.hasPrefix(closing) }
            #expect(line.hasSuffix("(no traffic for 0.5 s)"), "keep \(keep): \(line)")
            if keep {
                let next = try LoopbackClient.connect(port: port)
                defer { next.close() }
                try next.send(Array("next".utf8))
                #expect(try next.readExactly(4) == Array("next".utf8))
                server.send(SIGTERM)
            }
            #expect(try server.waitForExit() == 0, "keep \(keep): \(server.transcript)")
        }
    }

    @Test(
        "the idle-timeout line says how long the silence was, as docs/limits.md shows",
        arguments: ["multi", "echo"]
    )
    func idleLineNamesTheTimeout(kind: String) throws {
        let server = try ChildProcess(sockettool: ["serve", kind, "127.0.0.1", "0", "--idle-timeout", "0.5"])
        let client = try LoopbackClient.connect(port: try server.listeningPort())
        defer { client.close() }
        #expect(client.readToEnd().end == .eof)
        let line = try server.waitForLine { $0.hasPrefix("Closing idle connection") }
        #expect(line == "Closing idle connection to 127.0.0.1:\(client.boundPort) (no traffic for 0.5 s)")
    }

    // MARK: - Clients

    @Test(
        "--timeout 0.5 against a peer that accepts and never answers: exit 75, not before 0.5 s",
        arguments: ["search", "connect"]
    )
    func clientReplyTimeout(command: String) throws {
        let listener = try LoopbackListener()
        let arguments =
            command == "search"
            ? ["search", "127.0.0.1", String(listener.port), "morpheus", "--timeout", "0.5"]
            : ["connect", "127.0.0.1", String(listener.port), "--timeout", "0.5"]
        let started = ContinuousClock.now
        let client = try ChildProcess(sockettool: arguments)
        let accepted = try listener.accept()
        defer { accepted.close() }
        let status = try client.waitForExit()
        let elapsed = ContinuousClock.now - started
        #expect(status == 75, "\(client.transcript)")
        #expect(elapsed >= .milliseconds(450), "gave up after \(elapsed)")
        // That it was --timeout 0.5, not the default 10 s, the message says.
        #expect(client.stderrText.contains("timed out after 0.5"), "\(client.stderrText)")
    }

    /// Every client, blocking or on the reactor, bounds the handshake by --connect-timeout, not --timeout
    /// (the reactor clients used --timeout until a helper's review; load modes also outlasted --duration).
    @Test(
        "--connect-timeout 0.5 against a full accept queue: the timeout error, whatever --timeout says",
        arguments: [
            (["search", "morpheus"], Int32(75), "Connection timed out"),
            (["connect"], Int32(75), "Connection timed out"),
            (["connect", "--conns", "2"], Int32(75), "Connection timed out"),
            // One vocabulary: a handshake past its deadline is the system's ETIMEDOUT in every mode.
            (["search", "morpheus", "--count", "1"], Int32(1), "Connection timed out"),
            (["connect", "--duration", "600"], Int32(1), "Connection timed out"),
            (["connect", "--duration", "0.2"], Int32(1), "connect not finished when the run ended"),
        ]
    )
    func clientConnectTimeout(words: [String], status expected: Int32, message: String) throws {
        let queue = try FullAcceptQueue()
        defer { queue.close() }
        // --timeout (and --duration) far past the bounded wait: an exit within it is --connect-timeout's.
        let arguments =
            [words[0], "127.0.0.1", String(queue.port)] + words.dropFirst()
            + ["--connect-timeout", "0.5", "--timeout", "600"]
        let started = ContinuousClock.now
        let client = try ChildProcess(sockettool: arguments)
        let status = try client.waitForExit()
        let elapsed = ContinuousClock.now - started
        #expect(status == expected, "\(client.transcript)")
        if words.count == 1 || words.contains("--conns") {
            #expect(elapsed >= .milliseconds(450), "gave up after \(elapsed)")
        }
        #expect(client.stderrText.contains(message), "\(client.stderrText)")
    }
}
