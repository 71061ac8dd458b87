// EdgeCaseTests.swift -- cases a code review found: a blocking server stuck in send(), a one-connection
// client that could deadlock against backpressure, empty messages, and a load run shorter than its set-up.
import Foundation
import Glibc
import Testing

@Suite("edge cases: stuck peers, empty and huge payloads, tiny durations")
struct EdgeCaseTests {
    @Test("serve echo: a client that sends and never reads cannot keep SIGINT from ending the server")
    func echoServerStuckInSendStillStops() throws {
        try withServer(["serve", "echo", "127.0.0.1", "0", "-q"]) { server, port in
            let client = try LoopbackClient.connect(port: port, receiveBuffer: 4096, sendBuffer: 65536)
            defer { client.close() }
            // Send until the server is blocked on its echo: the client has no room left, and the server's side
            // holds echo the client does not read (Send-Q) and input it does not read (Recv-Q), as ss shows.
            let chunk = [UInt8](repeating: 0x61, count: 1 << 16)
            let blocked = try eventually {
                let written = try chunk.withUnsafeBytes { try client.sendWhatFits($0) }
                let side = try ResilienceSockets.serverSide(port: port, client: client.boundPort)
                return written == 0 && (side?.sendQueue ?? 0) > 0 && (side?.receiveQueue ?? 0) > 0
            }
            #expect(blocked, "the server never blocked in send(): \(server.transcript)")
            server.send(SIGINT)
            #expect(try server.waitForExit() == 0, "\(server.transcript)")
        }
    }

    @Test("connect with one connection streams a payload far larger than the socket buffers, all of it back")
    func singleConnectionLargePayload() throws {
        try withServer(["serve", "multi", "127.0.0.1", "0", "-q"]) { _, port in
            let run = try ChildProcess.sockettool(
                ["connect", "127.0.0.1", String(port), "--bytes", String(48 << 20), "--json"],
                timeout: .seconds(120)
            )
            #expect(run.status == 0, "\(run.stderr)")
            let summary = try #require(jsonLines(run.stdout).last, "\(run.stdout)")
            #expect(summary["event"] as? String == "summary", "\(summary)")
            #expect(summary["bytes_sent"] as? Int == 48 << 20, "\(summary)")
            #expect(summary["bytes_received"] as? Int == 48 << 20, "\(summary)")
            #expect(summary["failed_connections"] as? Int == 0, "\(summary)")
        }
    }

    @Test("an empty message is echoed as nothing, with one connection or several")
    func emptyMessages() throws {
        try withServer(["serve", "multi", "127.0.0.1", "0", "-q"]) { _, port in
            for (extra, connections) in [([String](), 1), (["--conns", "2"], 2)] {
                let run = try ChildProcess.sockettool(
                    ["connect", "127.0.0.1", String(port), "-m", "", "--json"] + extra
                )
                #expect(run.status == 0, "\(extra): \(run.stderr)")
                let events = jsonLines(run.stdout)
                let summary = try #require(events.last, "\(run.stdout)")
                #expect(summary["event"] as? String == "summary", "\(extra): \(summary)")
                #expect(summary["connections"] as? Int == connections, "\(extra): \(summary)")
                #expect(summary["bytes_sent"] as? Int == 0 && summary["bytes_received"] as? Int == 0, "\(summary)")
                #expect(summary["failed_connections"] as? Int == 0, "\(extra): \(summary)")
                if connections > 1 {
                    let closed = events.filter { $0["event"] as? String == "closed" }.count
                    #expect(closed == connections, "every connection ends cleanly: \(events)")
                }
            }
        }
    }

    @Test("a load run shorter than its set-up reports a sane duration, not a wrapped-around one")
    func tinyDuration() throws {
        try withServer(["serve", "multi", "127.0.0.1", "0", "-q"]) { _, port in
            let started = ContinuousClock.now
            let run = try ChildProcess.sockettool(
                ["connect", "127.0.0.1", String(port), "--duration", "0.001", "--json", "-q"])
            let lifetime = ContinuousClock.now - started
            // A run shorter than a round trip may end before any echo comes back: that stream moved no bytes
            // and fails the run (exit 1, `no_bytes`), which is the truth; either way the summary is printed.
            let summary = try #require(
                jsonLines(run.stdout).first { $0["event"] as? String == "summary" },
                "\(run.stdout)"
            )
            let failures = summary["failures"] as? [String: Int] ?? [:]
            #expect(
                (run.status == 0 && failures.isEmpty) || (run.status == 1 && failures == ["no_bytes": 1]),
                "status \(run.status): \(run.stdout) \(run.stderr)"
            )
            let seconds = try #require(summary["seconds"] as? Double)
            // The run lies within the process's life: a wrapped-around clock difference is centuries long.
            #expect(
                seconds >= 0 && seconds <= lifetime.millisecondsValue / 1000,
                "reported \(seconds) s in \(lifetime)"
            )
        }
    }

    @Test("closed standard descriptors: the first socket does not become stdin or stdout")
    func closedStandardDescriptors() throws {
        // `sh -c '... <&- >&-'` starts sockettool with 0 and 1 closed; it must still connect, fail cleanly
        // and report on stderr, not crash registering a socket that took descriptor 0.
        let closed = try ClosedPort()
        let run = try ChildProcess.run(
            "/bin/sh",
            ["-c", "'\(ChildProcess.sockettool)' connect 127.0.0.1 \(closed.port) -m - <&- >&-; echo status=$? >&2"]
        )
        #expect(run.stderr.contains("status=69"), "\(run.stderr)")
        #expect(run.stderr.contains("connect(127.0.0.1:\(closed.port)): Connection refused"), "\(run.stderr)")
        withExtendedLifetime(closed) {}
    }
}
