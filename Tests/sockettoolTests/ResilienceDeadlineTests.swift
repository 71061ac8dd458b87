// ResilienceDeadlineTests.swift -- every deadline with a short value: the request deadline of serve app, the
// idle timeouts of serve multi and serve echo, and the connect and reply timeouts of the clients (issue 5,
// point 3). Each must fire on time: not before, and not much after.
import Foundation
import Glibc
import SocketCore
import Testing

@Suite("Resilience: deadlines with short values")
struct ResilienceDeadlineTests {
    // MARK: - Servers

    @Test("serve app --request-timeout 0.5: a stalled request gets the timeout error and a FIN after 0.4-2 s")
    func appRequestTimeout() throws {
        let server = try ResilientServer(.app, ["-q", "--request-timeout", "0.5"])
        let started = ContinuousClock.now
        let client = try LoopbackClient.connect(port: server.port)
        let clientPort = client.boundPort
        try client.send(Array(AppWire.searchRequest("morpheus").prefix(30)))
        let (bytes, end) = client.readToEnd(timeout: .seconds(5))
        let elapsed = ContinuousClock.now - started
        client.close()
        #expect(end == .eof)
        #expect(elapsed >= .milliseconds(400) && elapsed <= .seconds(2), "closed after \(elapsed)")
        let result = try #require(AppWire.result(of: try AppWire.decodeOne(bytes).frame), "\(bytes.hex)")
        #expect(result.hasPrefix("Error: request not complete after 0.5 s"), "\(result)")
        let logged = try server.process.waitForLine { $0.hasPrefix("Error: 127.0.0.1:\(clientPort):") }
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
                try server.exchange(timeout: .seconds(2))
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
        #expect(try server.terminate(timeout: .seconds(5)) == 0, "\(server.diagnostics)")
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
        let (bytes, _) = client.readToEnd(timeout: .seconds(5))
        let result = try #require(AppWire.result(of: try AppWire.decodeOne(bytes).frame), "\(bytes.hex)")
        #expect(result == "Error: request not complete after 0.5 s (\(sent) bytes received).")
    }

    @Test("serve multi --idle-timeout 0.5: traffic keeps a connection open; 0.5 s of silence closes it")
    func multiIdleTimeoutFollowsTraffic() throws {
        let server = try ResilientServer(.multi, ["--idle-timeout", "0.5"])
        let client = try LoopbackClient.connect(port: server.port)
        defer { client.close() }
        let connected = ContinuousClock.now
        // A byte every 250 ms for 1.25 s: never 0.5 s of silence, so never closed.
        for index in 0..<5 {
            #expect(try client.socket.wait(for: .readable, timeout: .milliseconds(250)) == .timedOut)
            try client.send([UInt8(ascii: "a") + UInt8(index)])
            #expect(try client.readExactly(1) == [UInt8(ascii: "a") + UInt8(index)], "closed while active")
        }
        #expect(ContinuousClock.now - connected > .seconds(1))
        let lastTraffic = ContinuousClock.now
        let (bytes, end) = client.readToEnd(timeout: .seconds(5))
        let silence = ContinuousClock.now - lastTraffic
        #expect(bytes.isEmpty)
        #expect(end == .eof)
        #expect(silence >= .milliseconds(400) && silence <= .seconds(2), "closed after \(silence) of silence")
        _ = try server.process.waitForLine { $0.hasPrefix("Closing idle connection to 127.0.0.1:\(client.boundPort)") }
        try server.exchange()
    }

    @Test(
        "serve echo --idle-timeout 0.5: the silent client is closed at ~0.5 s; the server exits, or with --keep serves the next"
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
            let (_, end) = client.readToEnd(timeout: .seconds(5))
            let silence = ContinuousClock.now - lastTraffic
            #expect(end == .eof, "keep \(keep)")
            #expect(silence >= .milliseconds(400) && silence <= .seconds(2), "keep \(keep): closed after \(silence)")
            _ = try server.waitForLine { $0.hasPrefix("Closing idle connection to 127.0.0.1:\(client.boundPort)") }
            if keep {
                let next = try LoopbackClient.connect(port: port)
                defer { next.close() }
                try next.send(Array("next".utf8))
                #expect(try next.readExactly(4, timeout: .seconds(3)) == Array("next".utf8))
                server.send(SIGTERM)
            }
            #expect(try server.waitForExit(timeout: .seconds(3)) == 0, "keep \(keep): \(server.transcript)")
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
        #expect(client.readToEnd(timeout: .seconds(5)).end == .eof)
        let line = try server.waitForLine { $0.hasPrefix("Closing idle connection") }
        #expect(line == "Closing idle connection to 127.0.0.1:\(client.boundPort) (no traffic for 0.5 s)")
    }

    // MARK: - Clients

    @Test(
        "--timeout 0.5 against a peer that accepts and never answers: exit 75 within ~2 s",
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
        let status = try client.waitForExit(timeout: .seconds(5))
        let elapsed = ContinuousClock.now - started
        #expect(status == 75, "\(client.transcript)")
        #expect(elapsed >= .milliseconds(400) && elapsed < .seconds(2), "gave up after \(elapsed)")
        #expect(client.stderrText.contains("timed out after 0.5"), "\(client.stderrText)")
    }

    /// Every client, blocking or on the reactor, bounds the handshake by --connect-timeout, not --timeout
    /// (the reactor clients used --timeout until a helper's review; load modes also outlasted --duration).
    @Test(
        "--connect-timeout 0.5 against a full accept queue: the timeout error within ~2 s, whatever --timeout says",
        arguments: [
            (["search", "morpheus"], Int32(75), "Connection timed out"),
            (["connect"], Int32(75), "Connection timed out"),
            (["connect", "--conns", "2"], Int32(75), "Connection timed out"),
            // One vocabulary: a handshake past its deadline is the system's ETIMEDOUT in every mode.
            (["search", "morpheus", "--count", "1"], Int32(1), "Connection timed out"),
            (["connect", "--duration", "30"], Int32(1), "Connection timed out"),
            (["connect", "--duration", "0.2"], Int32(1), "connect not finished when the run ended"),
        ]
    )
    func clientConnectTimeout(words: [String], status expected: Int32, message: String) throws {
        let queue = try FullAcceptQueue()
        defer { queue.close() }
        let arguments =
            [words[0], "127.0.0.1", String(queue.port)] + words.dropFirst()
            + ["--connect-timeout", "0.5", "--timeout", "30"]
        let started = ContinuousClock.now
        let client = try ChildProcess(sockettool: arguments)
        let status = try client.waitForExit(timeout: .seconds(10))
        let elapsed = ContinuousClock.now - started
        #expect(status == expected, "\(client.transcript)")
        #expect(elapsed < .seconds(2), "gave up after \(elapsed)")
        if words.count == 1 || words.contains("--conns") {
            #expect(elapsed >= .milliseconds(400), "gave up after \(elapsed)")
        }
        #expect(client.stderrText.contains(message), "\(client.stderrText)")
    }
}

/// A listener with backlog 0 that never accepts, and connections that fill its queue: further SYNs are
/// dropped, so a connect to it can only time out.
private final class FullAcceptQueue {
    private(set) var port: UInt16 = 0
    private let listener: Socket
    private var fillers: [Socket] = []

    init() throws {
        listener = try Socket(family: AF_INET)
        do {
            try listener.bind(to: SocketAddress(ipv4: "127.0.0.1", port: 0)!)
            try listener.listen(backlog: 0)
            port = try listener.localAddress().port
            // Fill until a connection can no longer complete its handshake.
            let address = SocketAddress(ipv4: "127.0.0.1", port: port)!
            var full = false
            while !full && fillers.count < 16 {
                let socket = try Socket(family: AF_INET)
                fillers.append(socket)
                if try socket.connect(to: address) == .inProgress {
                    full = try socket.wait(for: .writable, timeout: .milliseconds(200)) == .timedOut
                }
            }
            guard full else { throw LoopbackFailure("the accept queue never filled (\(fillers.count) connections)") }
        } catch {
            close()
            throw error
        }
    }

    func close() {
        for socket in fillers { socket.close() }
        listener.close()
    }
}
