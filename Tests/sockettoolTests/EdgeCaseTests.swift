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
            // Send until the kernel has had no room for a moment: by then the server is blocked on its echo.
            let chunk = [UInt8](repeating: 0x61, count: 1 << 16)
            var stalled = false
            for _ in 0..<512 where !stalled {
                let written = try chunk.withUnsafeBytes { try client.sendWhatFits($0) }
                if written == 0 {
                    stalled = try client.socket.wait(for: .writable, timeout: .milliseconds(300)) == .timedOut
                }
            }
            #expect(stalled, "the client's send buffer never filled")
            let signalled = ContinuousClock.now
            server.send(SIGINT)
            #expect(try server.waitForExit(timeout: .seconds(5)) == 0, "\(server.transcript)")
            #expect(ContinuousClock.now - signalled < .seconds(2))
        }
    }

    @Test("connect with one connection streams a payload far larger than the socket buffers")
    func singleConnectionLargePayload() throws {
        try withServer(["serve", "multi", "127.0.0.1", "0", "-q"]) { _, port in
            let run = try ChildProcess.sockettool(
                ["connect", "127.0.0.1", String(port), "--bytes", String(48 << 20), "--timeout", "5", "-q"],
                timeout: .seconds(60)
            )
            #expect(run.status == 0, "\(run.stderr)")
        }
    }

    @Test("an empty message is echoed as nothing, with one connection or several")
    func emptyMessages() throws {
        try withServer(["serve", "multi", "127.0.0.1", "0", "-q"]) { _, port in
            for extra in [[], ["--conns", "2"]] {
                let run = try ChildProcess.sockettool(
                    ["connect", "127.0.0.1", String(port), "-m", "", "--timeout", "2"] + extra
                )
                #expect(run.status == 0, "\(extra): \(run.stderr)")
            }
        }
    }

    @Test("a load run shorter than its set-up reports a sane duration, not a wrapped-around one")
    func tinyDuration() throws {
        try withServer(["serve", "multi", "127.0.0.1", "0", "-q"]) { _, port in
            let run = try ChildProcess.sockettool(
                ["connect", "127.0.0.1", String(port), "--duration", "0.001", "--json", "-q"])
            #expect(run.status == 0, "\(run.stderr)")
            let last = try #require(run.stdout.split(separator: "\n").last)
            let summary = try #require(try JSONSerialization.jsonObject(with: Data(last.utf8)) as? [String: Any])
            let seconds = try #require(summary["seconds"] as? Double)
            #expect(seconds >= 0 && seconds < 5, "reported \(seconds) s")
        }
    }

    @Test("closed standard descriptors: the first socket does not become stdin or stdout")
    func closedStandardDescriptors() throws {
        // `sh -c '... <&- >&-'` starts sockettool with 0 and 1 closed; it must still connect, fail cleanly
        // and report on stderr, not crash registering a socket that took descriptor 0.
        let run = try ChildProcess.run(
            "/bin/sh",
            ["-c", "'\(ChildProcess.sockettool)' connect 127.0.0.1 1 -m - <&- >&-; echo status=$? >&2"]
        )
        #expect(run.stderr.contains("status=69"), "\(run.stderr)")
        #expect(run.stderr.contains("Connection refused"), "\(run.stderr)")
    }
}
