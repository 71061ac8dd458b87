// ResilienceShutdownTests.swift -- signals: SIGTERM stops accepting at once and lets work in flight finish
// within --grace, a second signal exits at once, and a peer that resets while the server writes can never
// end the process with SIGPIPE (issue 5, point 4).
import Foundation
import Glibc
import SocketCore
import Testing

@Suite("Resilience: SIGTERM, the grace period and SIGPIPE")
struct ResilienceShutdownTests {
    // MARK: - Work in flight at SIGTERM

    @Test("serve app: SIGTERM with half a request in; the listener closes at once, the response still comes whole")
    func appResponseInFlight() throws {
        // A grace period far past the bounded waits: the exit must come when the response is done, not when
        // the grace runs out.
        let server = try ResilientServer(.app, ["--grace", "600"])
        let client = try LoopbackClient.connect(port: server.port)
        defer { client.close() }
        let request = AppWire.searchRequest("morpheus")
        try client.send(Array(request.prefix(60)))
        try waitUntilServerRead(server, client)

        server.process.send(SIGTERM)
        _ = try server.process.waitForLine { $0 == "Caught SIGTERM, exiting" }
        try expectRefused(port: server.port)

        try client.send(Array(request.dropFirst(60)))
        let (bytes, end) = client.readToEnd()
        #expect(end == .eof)
        let reply = try AppWire.decodeOne(bytes)
        #expect(AppWire.result(of: reply.frame) == "Follow the white rabbit. \u{1F430}")
        #expect(reply.trailing == 0)
        #expect(try server.process.waitForExit() == 0, "\(server.process.transcript)")
    }

    @Test("serve multi: echo still unsent at SIGTERM reaches its client, byte for byte, then exit 0")
    func multiPendingEchoIsDelivered() throws {
        let server = try ResilientServer(.multi, ["-q", "--grace", "600"])
        let client = try LoopbackClient.connect(port: server.port, receiveBuffer: 16384)
        defer { client.close() }
        // 2 MiB, not read: the server echoes until the kernel's buffers toward this client are full, holds
        // the rest of its last read as unsent echo, and stops reading (the remainder waits in the kernel).
        let payload = try randomBytes(2 << 20)
        let sent = try payload.withUnsafeBytes { try client.sendWhatFits($0) }
        let blocked = try eventually {
            (try ResilienceSockets.serverSide(port: server.port, client: client.boundPort)?.sendQueue ?? 0) > 0
        }
        try #require(blocked, "the server should be blocked writing the echo")

        server.process.send(SIGTERM)
        _ = try server.process.waitForLine { $0 == "Caught SIGTERM, exiting" }
        try expectRefused(port: server.port)
        // Shutdown finishes what the server had read: the client gets an exact prefix of what it sent, then
        // the end of the connection; input the server never read is not echoed.
        let (echoed, _) = client.readToEnd()
        #expect(!echoed.isEmpty && echoed.count <= sent)
        #expect(echoed == Array(payload.prefix(echoed.count)), "the echo differs from what was sent")
        #expect(try server.process.waitForExit() == 0, "\(server.process.transcript)")
    }

    @Test(
        "--grace 0.5 with a client that never finishes: exit 0 once it runs out, not before",
        arguments: ReactorKind.allCases
    )
    func graceRunsOut(kind: ReactorKind) throws {
        let server = try ResilientServer(kind, ["--grace", "0.5"] + Self.holdBackEcho(kind))
        let client = try Self.neverFinishing(server)
        defer { client.close() }
        let signalled = ContinuousClock.now
        server.process.send(SIGTERM)
        _ = try server.process.waitForLine { $0 == "Caught SIGTERM, exiting" }
        try expectRefused(port: server.port)
        let status = try server.process.waitForExit()
        let elapsed = ContinuousClock.now - signalled
        #expect(status == 0, "\(server.process.transcript)")
        #expect(elapsed >= .milliseconds(450), "exited \(elapsed) after SIGTERM, before the grace period ran out")
        #expect(client.readToEnd().end != .timeout, "the client was left open")
        let lines = server.process.stdoutLines + (try server.process.remainingLines())
        #expect(
            lines.contains("Grace period of 0.5 s over: closing 1 unfinished connection"),
            "\(server.process.transcript)"
        )
    }

    /// A server blocked writing to a stdout nobody reads never gets back to its loop, so it cannot read the
    /// first signal from the pipe; the second must still end it (a helper's review found it needed SIGKILL).
    @Test("a server stuck writing to an unread stdout: the second SIGTERM ends it with 143")
    func secondSignalEndsAServerStuckOnStdout() throws {
        let server = try ResilientServer(.multi)
        // Never read from here on: each echo prints a line, and the pipe to this test fills.
        let client = try LoopbackClient.connect(port: server.port)
        defer { client.close() }
        // Each chunk is either echoed, or the server is found blocked in a write to its stdout pipe (nothing
        // here may read that pipe: ChildProcess's readers would unblock it).
        let chunk = Array(repeating: UInt8(ascii: "x"), count: 200)
        var stuck = false
        for _ in 0..<10_000 where !stuck {
            try client.send(chunk)
            var unechoed = chunk.count
            let progressed = eventually {
                unechoed -= client.endedNow().data.count
                stuck = Self.isBlockedOnStdout(server)
                return unechoed <= 0 || stuck
            }
            try #require(progressed, "neither echoed nor blocked on stdout: \(server.diagnostics)")
        }
        try #require(stuck, "the server never blocked on its stdout: \(server.diagnostics)")
        // The first signal waits in the pipe, unread. Watch /proc rather than waitForExit, which reads the
        // child's stdout while it waits and so would unblock it.
        server.process.send(SIGTERM)
        // Two signals of one kind merge while pending: send the second once the first was delivered.
        let delivered = eventually { !Self.hasPendingSignal(SIGTERM, pid: server.pid) }
        try #require(delivered, "the first SIGTERM stayed pending: \(server.diagnostics)")
        server.process.send(SIGTERM)
        let ended = eventually { !server.isRunning }
        #expect(ended, "still running after two SIGTERMs: \(server.diagnostics)")
        let status = try server.process.waitForExit()
        #expect(status == 143, "\(server.process.transcript.suffix(500))")
    }

    /// True while the server sleeps in a write to a pipe (a thread's wait channel in /proc says so: with
    /// --workers the loop that writes may be any of them) and its stdout pipe is all but full: a lone look at
    /// the pipe cannot tell a server about to block from a blocked one.
    private static func isBlockedOnStdout(_ server: ResilientServer) -> Bool {
        let tasks = (try? FileManager.default.contentsOfDirectory(atPath: "/proc/\(server.pid)/task")) ?? []
        let writing = tasks.contains { task in
            let wchan = try? String(contentsOfFile: "/proc/\(server.pid)/task/\(task)/wchan", encoding: .utf8)
            return wchan?.contains("pipe_write") == true
        }
        return writing && server.process.unreadStdoutBytes >= 60 << 10
    }

    /// True while `signal` is pending for the process (the SigPnd and ShdPnd masks of /proc/PID/status).
    private static func hasPendingSignal(_ signal: CInt, pid: pid_t) -> Bool {
        guard let status = try? String(contentsOfFile: "/proc/\(pid)/status", encoding: .utf8) else { return false }
        let bit = UInt64(1) << UInt64(signal - 1)
        return status.split(separator: "\n").contains { line in
            guard line.hasPrefix("SigPnd:") || line.hasPrefix("ShdPnd:"),
                let mask = UInt64(line.split(separator: "\t").last ?? "", radix: 16)
            else { return false }
            return mask & bit != 0
        }
    }

    @Test("a second SIGTERM during the grace period exits at once with 143", arguments: ReactorKind.allCases)
    func secondSignalExitsAtOnce(kind: ReactorKind) throws {
        // The grace period outlasts the bounded wait, and running out would exit 0: 143 within the wait is
        // the second signal's doing.
        let server = try ResilientServer(kind, ["--grace", "600"] + Self.holdBackEcho(kind))
        let client = try Self.neverFinishing(server)
        defer { client.close() }
        server.process.send(SIGTERM)
        _ = try server.process.waitForLine { $0 == "Caught SIGTERM, exiting" }
        server.process.send(SIGTERM)
        #expect(try server.process.waitForExit() == 128 + SIGTERM, "\(server.process.transcript)")
    }

    // MARK: - SIGPIPE

    @Test(
        "serve multi: a peer that resets while the server writes to it costs one log line, never the process",
        arguments: ["open", "half-closed"]
    )
    func multiPeerResetsWhileServerWrites(peer: String) throws {
        // Half-closed first, the server's socket is in CLOSE-WAIT when the RST comes, and its next send fails
        // with EPIPE: the error that raises SIGPIPE unless the process ignores it or sends with MSG_NOSIGNAL.
        let halfClosed = peer == "half-closed"
        let server = try ResilientServer(.multi, ["-q"])
        var rude: LoopbackClient
        var rudePort: UInt16
        var sent = 0
        var side: (state: String, receiveQueue: Int, sendQueue: Int)?
        // Blocked writing: echo waits in the send queue (half-closed: and the client's FIN has come).
        let serverIsWriting = { (side?.sendQueue ?? 0) > 0 && (!halfClosed || side?.state == "CLOSE-WAIT") }
        var attempt = 0
        repeat {
            attempt += 1
            rude = try LoopbackClient.connect(port: server.port, receiveBuffer: 4096)
            rudePort = rude.boundPort
            // A client that cannot write for `quiet` takes the path for full; on a busy machine that can be the
            // server falling behind instead, so each attempt waits longer.
            let quiet = Duration.milliseconds(300 * attempt)
            if halfClosed {
                // Fill the whole path first (the server stops reading while its echo waits), then read echo until
                // everything sent has reached the server, so the FIN can follow: the server is in CLOSE-WAIT with
                // a full send buffer and more to echo.
                sent = try rude.sendUntilBlocked(try randomBytes(1 << 16), quiet: quiet, cap: 16 << 20)
                let deadline = ContinuousClock.now + .seconds(10)
                while try rude.socket.outputQueueBytes() > 0 && ContinuousClock.now < deadline {
                    _ = try rude.readSome(limit: 1 << 16, timeout: .seconds(5))
                }
                #expect(try rude.socket.outputQueueBytes() == 0, "what the client sent never all reached the server")
                try rude.shutdownWrite()
            } else {
                sent = try rude.sendUntilBlocked(try randomBytes(1 << 16), quiet: quiet, cap: 4 << 20)
            }
            // LAST-ACK: the server's send buffer grew to take all the echo it had and it closed, so it has
            // nothing left to write into the reset. The set-up missed; the next attempt waits longer to call the
            // path full.
            _ = try eventually {
                side = try ResilienceSockets.serverSide(port: server.port, client: rudePort)
                return serverIsWriting() || side?.state == "LAST-ACK"
            }
            if side?.state == "LAST-ACK" && attempt < 3 { rude.reset() }
        } while side?.state == "LAST-ACK" && attempt < 3
        #expect(
            serverIsWriting(),
            "the server is not blocked writing to the client (sent \(sent) bytes, attempt \(attempt)): \(String(describing: side))"
        )
        rude.reset()

        let logged = try server.process.waitForLine { $0.hasPrefix("error: 127.0.0.1:\(rudePort):") }
        print("SIGPIPE multi (\(peer)): sent \(sent) bytes, then RST; logged: \(logged)")
        if halfClosed { #expect(logged.hasSuffix("Broken pipe"), "the EPIPE path was not taken: \(logged)") }
        try server.exchange()
        #expect(try server.terminate() == 0, "not 0 (141 would be SIGPIPE): \(server.process.transcript)")
        let lines = server.process.stdoutLines + (try server.process.remainingLines())
        let aboutRude = lines.filter { $0.contains("127.0.0.1:\(rudePort)") }
        #expect(aboutRude.count == 1, "one line for the peer that reset: \(aboutRude)")
    }

    @Test(
        "serve app: peers that reset before reading their response cost one line each, never the process",
        arguments: [("a search", AppWire.searchRequest("ring")), ("a 256 KiB binary request", bigBinaryRequest)]
    )
    func appPeersResetBeforeReading(what: String, request: [UInt8]) throws {
        let server = try ResilientServer(.app, ["-q"])
        // Stopped, the server cannot read before the resets arrive: it reads (or fails to) and writes after.
        server.process.send(SIGSTOP)
        var ports: [UInt16] = []
        for _ in 0..<5 {
            let client = try LoopbackClient.connect(port: server.port)
            ports.append(client.boundPort)
            _ = try request.withUnsafeBytes { try client.sendWhatFits($0) }
            client.reset()
        }
        server.process.send(SIGCONT)
        try server.exchange()
        // The first reset noticed (the others come in the same few turns of the loop).
        _ = try? server.process.waitForLine { $0.hasPrefix("error: 127.0.0.1:") }
        #expect(try server.terminate() == 0, "not 0 (141 would be SIGPIPE): \(server.process.transcript)")
        let lines = server.process.stdoutLines + (try server.process.remainingLines())
        var total = 0
        for port in ports {
            let about = lines.filter { $0.contains("127.0.0.1:\(port)") }
            #expect(about.count <= 1, "more than one line for one reset peer: \(about)")
            total += about.count
        }
        print(
            "SIGPIPE app (\(what)): \(total) error lines for 5 reset peers: \(lines.filter { $0.hasPrefix("error") })"
        )
        #expect(total >= 1, "no reset was noticed at all: \(lines)")
    }

    // MARK: - Helpers

    static let bigBinaryRequest = AppProtocol.binaryRequest(value: String(repeating: "x", count: 256 << 10)).encoded()

    /// serve multi needs a small --max-pending for a client that does not read to hold echo quickly.
    private static func holdBackEcho(_ kind: ReactorKind) -> [String] {
        kind == .multi ? ["--max-pending", "65536"] : []
    }

    /// A client with work in flight that it never completes: half a request (app), or echo it never reads
    /// (multi). Returns once the server holds that work.
    private static func neverFinishing(_ server: ResilientServer) throws -> LoopbackClient {
        switch server.kind {
        case .app:
            let client = try LoopbackClient.connect(port: server.port)
            try client.send(Array(AppWire.searchRequest("morpheus").prefix(60)))
            try waitUntilServerRead(server, client)
            return client
        case .multi:
            let client = try LoopbackClient.connect(port: server.port, receiveBuffer: 4096)
            _ = try client.sendUntilBlocked(try randomBytes(1 << 16), cap: 16 << 20)
            let holding = try eventually {
                try ResilienceSockets.serverSide(port: server.port, client: client.boundPort)?.sendQueue ?? 0 > 0
            }
            try #require(holding, "the server holds no echo for the client")
            return client
        }
    }
}

/// Waits until the server has read everything `client` sent (its side of the connection has an empty Recv-Q).
private func waitUntilServerRead(_ server: ResilientServer, _ client: LoopbackClient) throws {
    _ = try server.process.waitForLine { $0 == "Accepted connection from 127.0.0.1:\(client.boundPort)" }
    let read = try eventually {
        try ResilienceSockets.serverSide(port: server.port, client: client.boundPort)?.receiveQueue == 0
    }
    try #require(read, "the server did not read the first bytes")
}

/// A new connection to `port` is refused (the listener is closed).
private func expectRefused(port: UInt16, sourceLocation: SourceLocation = #_sourceLocation) throws {
    do {
        let late = try LoopbackClient.connect(port: port, timeout: .seconds(2))
        late.close()
        Issue.record("a new connection was accepted after SIGTERM", sourceLocation: sourceLocation)
    } catch let error as SystemError {
        #expect(error.errno == .connectionRefused, "\(error)", sourceLocation: sourceLocation)
    }
}
