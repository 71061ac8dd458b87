// LoadInterruptTests.swift -- Ctrl-C during a load run, as iperf3 users expect: the run stops early and
// still prints its summary (marked as interrupted), then exits 128 + the signal.
import Foundation
import Glibc
import SocketCore
import Testing

@Suite("load modes: SIGINT ends the run early, with its summary")
struct LoadInterruptTests {
    @Test(
        "connect --duration (echo, send-only) and search --duration: SIGINT after the first interval prints the summary, exit 130",
        arguments: [
            (["serve", "multi"], ["connect", "--conns", "2"]),
            (["serve", "discard"], ["connect", "--send-only", "--conns", "2"]),
            (["serve", "app"], ["search", "morpheus", "--concurrency", "2"]),
        ]
    )
    func interruptedRunStillReports(server: [String], client: [String]) throws {
        try withServer(server + ["127.0.0.1", "0", "-q"]) { _, port in
            let load = try ChildProcess(
                sockettool: [client[0], "127.0.0.1", String(port)] + client.dropFirst() + [
                    "--duration", "600", "--json",
                ]
            )
            // The first once-a-second progress event: the run is under way.
            _ = try load.waitForLine { $0.contains(#""event": "interval""#) }
            load.send(SIGINT)
            // Well before the 600 s it was asked for: the bounded wait is the check that it stopped early.
            #expect(try load.waitForExit() == 128 + SIGINT, "\(load.transcript)")
            let lines = load.stdoutLines + (try load.remainingLines())
            let summary = try #require(
                lines.last.flatMap { try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any] },
                "\(lines)"
            )
            #expect(summary["event"] as? String == "summary", "\(summary)")
            #expect(summary["interrupted"] as? String == "SIGINT", "\(summary)")
            let seconds = try #require(summary["seconds"] as? Double)
            #expect(seconds > 0.5 && seconds < 300, "the figures cover \(seconds) s, not the time run")
            #expect((summary["failed"] as? Int) == 0, "\(summary)")
        }
    }

    @Test("connect --duration in text: the summary says it stopped early")
    func interruptedTextSummary() throws {
        try withServer(["serve", "multi", "127.0.0.1", "0", "-q"]) { _, port in
            let load = try ChildProcess(sockettool: ["connect", "127.0.0.1", String(port), "--duration", "600"])
            // Progress goes to stderr; the first line there means the run is under way.
            let started = eventually { load.stderrText.contains("done") }
            #expect(started, "\(load.transcript)")
            load.send(SIGINT)
            #expect(try load.waitForExit() == 128 + SIGINT, "\(load.transcript)")
            let lines = load.stdoutLines + (try load.remainingLines())
            #expect(lines.first?.hasPrefix("Echo load against 127.0.0.1:\(port)") == true, "\(lines)")
            #expect(lines.last == "  stopped     early by SIGINT: the figures cover the run until then", "\(lines)")
        }
    }
}
