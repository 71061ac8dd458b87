// LoadStreamsTests.swift -- `connect --duration` as iperf3 is used: one-way load to `serve discard`
// (--send-only), a line per stream, and a stream that moved no bytes failing the run and named.
import Foundation
import Testing

@Suite("connect load streams: send-only, per-stream breakdown, starved streams")
struct LoadStreamsTests {
    /// The summary event of a --json load run.
    private func summary(_ stdout: String) throws -> [String: Any] {
        try #require(jsonLines(stdout).last { $0["event"] as? String == "summary" })
    }

    @Test("--send-only --duration to serve discard: interval events, a sender and receiver summary, every byte read")
    func sendOnlyToDiscard() throws {
        try withServer(["serve", "discard", "127.0.0.1", "0", "--json"]) { server, port in
            let run = try ChildProcess.sockettool(
                ["connect", "127.0.0.1", String(port), "--send-only", "--duration", "2.5", "--conns", "2", "--json"]
            )
            #expect(run.status == 0, "\(run.stderr)")
            let events = jsonLines(run.stdout)
            let intervals = events.filter { $0["event"] as? String == "interval" }
            #expect(intervals.count >= 2, "\(run.stdout)")
            for interval in intervals {
                for key in ["start_s", "end_s", "bytes", "bits_per_second", "retransmits", "cwnd_bytes"] {
                    #expect(interval[key] != nil, "\(key) missing: \(interval)")
                }
            }
            // The last interval ends after the streams closed: its window is the last one sampled while open.
            #expect((intervals.last?["cwnd_bytes"] as? Int ?? 0) > 0, "\(intervals.last ?? [:])")
            let summary = try summary(run.stdout)
            #expect(summary["mode"] as? String == "send")
            let sent = try #require(summary["bytes_sent"] as? Int)
            #expect(sent > 0)
            // The receiver closed after our FIN on every stream: it read all of it.
            #expect(summary["bytes_delivered"] as? Int == sent)
            let streams = try #require(summary["streams"] as? [[String: Any]])
            #expect(streams.map { $0["stream"] as? Int } == [1, 2])
            #expect(streams.reduce(0) { $0 + ($1["bytes_sent"] as? Int ?? 0) } == sent)
            #expect(streams.allSatisfy { $0["failure"] is NSNull && $0["retransmits"] is Int })
            // The discard server counted the same bytes, connection by connection.
            var discarded = 0
            for _ in 0..<2 {
                let line = try server.waitForLine(timeout: .seconds(30)) { $0.contains("\"totals\"") }
                discarded += try #require(jsonLines(line).first?["bytes"] as? Int)
            }
            #expect(discarded == sent)
        }
    }

    @Test("send-only text: iperf3's header, interval lines, sender and receiver lines; -v a line per stream")
    func sendOnlyText() throws {
        try withServer(["serve", "discard", "127.0.0.1", "0", "-q"]) { _, port in
            let run = try ChildProcess.sockettool(
                ["connect", "127.0.0.1", String(port), "--send-only", "--duration", "1.5", "--conns", "2", "-v"]
            )
            #expect(run.status == 0, "\(run.stderr)")
            let lines = run.stdout.split(separator: "\n").map(String.init)
            #expect(lines.first == "[ ID] Interval           Transfer     Bitrate         Retr  Cwnd", "\(run.stdout)")
            #expect(lines.contains { $0.hasPrefix("[SUM]   0.00-") && $0.contains("bits/sec") }, "\(run.stdout)")
            #expect(lines.contains { $0.hasPrefix("[SUM]") && $0.hasSuffix("sender") }, "\(run.stdout)")
            #expect(lines.contains { $0.hasPrefix("[SUM]") && $0.hasSuffix("receiver") }, "\(run.stdout)")
            for stream in 1...2 {
                #expect(lines.contains { $0.hasPrefix("[  \(stream)]") && $0.hasSuffix("sender") }, "\(run.stdout)")
            }
        }
    }

    @Test("echo load: -v lists every stream with the bytes it had echoed; without -v only failed streams")
    func echoStreamLines() throws {
        try withServer(["serve", "multi", "127.0.0.1", "0", "-q"]) { _, port in
            for verbose in [true, false] {
                let run = try ChildProcess.sockettool(
                    ["connect", "127.0.0.1", String(port), "--duration", "1", "--conns", "2"] + (verbose ? ["-v"] : [])
                )
                #expect(run.status == 0, "\(run.stderr)")
                for stream in 1...2 {
                    let listed = run.stdout.split(separator: "\n").contains {
                        $0.hasPrefix("  stream \(stream)    ") && $0.contains(" bytes echoed and checked (")
                    }
                    #expect(listed == verbose, "\(run.stdout)")
                }
            }
        }
    }

    /// Issue 18: `serve echo --keep` serves one client at a time, so three of four streams wait in the
    /// backlog for the whole run; the report used to say 0 failed and exit 0.
    @Test("a stream that moved no bytes fails the run and is named, in text and in --json")
    func starvedStreamsFail() throws {
        try withServer(["serve", "echo", "127.0.0.1", "0", "--keep", "-q"]) { _, port in
            let json = try ChildProcess.sockettool(
                ["connect", "127.0.0.1", String(port), "--duration", "1.5", "--conns", "4", "--json"]
            )
            #expect(json.status == 1, "\(json.stdout)\n\(json.stderr)")
            let summary = try summary(json.stdout)
            #expect(summary["failed"] as? Int == 3, "\(summary)")
            #expect((summary["failures"] as? [String: Any])?["no_bytes"] as? Int == 3, "\(summary)")
            let streams = try #require(summary["streams"] as? [[String: Any]])
            #expect(streams.count == 4)
            let starved = streams.filter { $0["failure"] as? String == "no_bytes" }
            #expect(starved.count == 3)
            #expect(starved.allSatisfy { $0["bytes_received"] as? Int == 0 })
            #expect(streams.filter { $0["failure"] is NSNull }.allSatisfy { ($0["bytes_received"] as? Int ?? 0) > 0 })

            let text = try ChildProcess.sockettool(
                ["connect", "127.0.0.1", String(port), "--duration", "1.5", "--conns", "4"]
            )
            #expect(text.status == 1)
            let failedLines = text.stdout.split(separator: "\n").filter { $0.contains("FAILED: moved no bytes") }
            #expect(failedLines.count == 3, "\(text.stdout)")
            #expect(text.stderr.contains("3 of 4 connections failed; first: stream "), "\(text.stderr)")
            #expect(text.stderr.contains("moved no bytes"), "\(text.stderr)")
        }
    }

    @Test("send-only load refuses what does not apply: --window, --no-shutdown, --recv-only")
    func sendOnlyRefusals() throws {
        let base = ["connect", "127.0.0.1", "9", "--duration", "1"]
        for (extra, words) in [
            (["--send-only", "--window", "65536"], "--window"), (["--send-only", "--no-shutdown"], "--no-shutdown"),
            (["--recv-only"], "--send-only also to load mode"),
        ] {
            let run = try ChildProcess.sockettool(base + extra)
            #expect(run.status == 64, "\(extra): \(run.stderr)")
            #expect(run.stderr.contains(words), "\(extra): \(run.stderr)")
        }
    }
}
