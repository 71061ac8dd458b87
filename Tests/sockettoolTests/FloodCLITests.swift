// FloodCLITests.swift -- `sockettool flood` as a learner runs it: the one-command demo (text, JSON, plot,
// --hold checked against /proc/net/tcp from outside), `flood serve` and `flood HOST PORT` in two processes,
// a refused connection, and bad options.
import Foundation
import Glibc
import SocketCore
import TestSupport
import Testing

@testable import sockettool

@Suite("flood: the buffer-fill experiment on the command line")
struct FloodCLITests {
    // MARK: - The demo

    @Test("flood --sndbuf 4096 --rcvbuf 4096 --json: every line parses, the summary is last and adds up")
    func smallBuffersJSON() throws {
        let result = try ChildProcess.sockettool(["flood", "--sndbuf", "4096", "--rcvbuf", "4096", "--json"])
        #expect(result.status == 0, "\(result.stderr)")
        let events = floodEvents(result.stdout)
        let summary = try #require(events.last)
        #expect(summary["event"] as? String == "summary")
        let sendQueue = try #require(summary["send_q"] as? Int)
        let receiveQueue = try #require(summary["recv_q"] as? Int)
        let accepted = try #require(summary["bytes_accepted"] as? Int)
        #expect(sendQueue > 0 && receiveQueue > 0)
        #expect(sendQueue + receiveQueue == accepted)
        #expect(summary["stop"] as? String == "saturated")
        #expect(summary["sndbuf"] as? Int == 8192 && summary["sndbuf_requested"] as? Int == 4096)
        #expect(summary["rcvbuf"] as? Int == 8192 && summary["rcvbuf_requested"] as? Int == 4096)
        #expect((summary["seconds"] as? Double).map { $0 > 0 } == true, "\(summary)")
        #expect((summary["tcp_wmem"] as? [Int])?.count == 3)

        // The table rows carry the same numbers as the summary.
        let sockets = events.filter { $0["event"] as? String == "socket" }
        #expect(sockets.count == 2)
        let receiver = try #require(sockets.first { $0["local"] as? String == summary["peer"] as? String })
        let sender = try #require(sockets.first { $0["local"] as? String == summary["local"] as? String })
        #expect(receiver["recv_q"] as? Int == receiveQueue && receiver["send_q"] as? Int == 0)
        #expect(sender["send_q"] as? Int == sendQueue && sender["recv_q"] as? Int == 0)
        #expect(sockets.allSatisfy { $0["state"] as? String == "ESTABLISHED" })

        // The guide's moment: send() would block, after as many bytes as the summary says.
        let wouldBlock = try #require(events.first { $0["event"] as? String == "would_block" })
        #expect(wouldBlock["errno"] as? String == "EAGAIN")
        #expect(wouldBlock["bytes_accepted"] as? Int == summary["first_eagain_bytes"] as? Int)
    }

    @Test("flood with the kernel's buffers, piped: the EAGAIN line, and megabytes in the sender's Send-Q")
    func defaultBuffersText() throws {
        let result = try ChildProcess.sockettool(["flood"])
        #expect(result.status == 0, "\(result.stderr)")
        let lines = result.stdout.split(separator: "\n").map(String.init)
        #expect(lines.first?.hasPrefix("Listening on 127.0.0.1:") == true)
        #expect(
            lines.contains { $0.hasPrefix("send() would block (EAGAIN: Resource temporarily unavailable) after ") },
            "\(result.stdout)"
        )
        #expect(lines.contains { $0.hasPrefix("Saturated: send() made no progress for 0.40 s") })
        #expect(lines.contains { $0.hasPrefix("Proto Recv-Q") && $0.contains("Send-Q Local Address") })
        let senderRow = try #require(lines.first { $0.hasPrefix("tcp ") && $0.hasSuffix("sender (sockettool flood)") })
        let columns = senderRow.split(separator: " ")
        let sendQueue = try #require(Int(columns[2]))
        #expect(sendQueue > 1_000_000, "\(senderRow)")
        #expect(lines.contains { $0.hasPrefix("Bytes accepted by the kernel: ") })
        #expect(lines.contains { $0.hasPrefix("The receiver never called recv()") })
        // Piped: plain interval lines, no terminal escapes.
        #expect(lines.contains { $0.hasPrefix("  0.") && $0.contains("Send-Q") })
        #expect(!result.stdout.contains("\u{1B}") && !result.stderr.contains("\u{1B}"))
    }

    /// Linux raises `--sndbuf 1` to its minimum (not a doubling), and one send() may overshoot a tiny send
    /// buffer by a whole packet buffer: the summary must say what happened, not a fixed sentence.
    @Test("flood --sndbuf 1: the summary explains the kernel's minimum and a Send-Q over SO_SNDBUF")
    func tinySendBufferExplained() throws {
        let result = try ChildProcess.sockettool(["flood", "--sndbuf", "1", "--rcvbuf", "4096"])
        #expect(result.status == 0, "\(result.stderr)")
        let lines = result.stdout.split(separator: "\n").map(String.init)
        let senderRow = try #require(lines.first { $0.hasPrefix("tcp ") && $0.hasSuffix("sender (sockettool flood)") })
        let sendQueue = try #require(Int(senderRow.split(separator: " ")[2]))
        let buffers = try #require(lines.first { $0.hasPrefix("Buffers: SO_SNDBUF ") }, "\(result.stdout)")
        let sendBuffer = try #require(
            Int(buffers.dropFirst("Buffers: SO_SNDBUF ".count).prefix { $0 != " " }.filter { $0 != "," })
        )
        #expect(buffers.contains("(asked 1: raised to the kernel's minimum)"), "\(buffers)")
        #expect(!lines.contains { $0.hasPrefix("SO_SNDBUF") && $0.contains("doubles") }, "\(result.stdout)")
        #expect(
            buffers.contains("The Send-Q is larger than SO_SNDBUF") == (sendQueue > sendBuffer),
            "Send-Q \(sendQueue), SO_SNDBUF \(sendBuffer): \(buffers)"
        )
        #expect(buffers.contains("The Recv-Q is smaller than SO_RCVBUF"), "\(buffers)")
    }

    @Test("flood --hold: /proc/net/tcp, read from outside, shows the numbers the summary reported")
    func holdMatchesTheKernel() throws {
        let child = try ChildProcess(sockettool: ["flood", "--sndbuf", "4096", "--rcvbuf", "4096", "--json", "--hold"])
        let line = try child.waitForLine { $0.contains("\"event\": \"summary\"") }
        let summary = try #require(floodEvents(line).first)
        let local = try #require(summary["local"] as? String)
        let peer = try #require(summary["peer"] as? String)
        let sender = try #require(try FloodProcSocket.find(local: local, remote: peer), "sender not in /proc/net/tcp")
        let receiver = try #require(try FloodProcSocket.find(local: peer, remote: local), "receiver not listed")
        #expect(sender.sendQueue == summary["send_q"] as? Int)
        #expect(receiver.receiveQueue == summary["recv_q"] as? Int)
        #expect(sender.state == 1 && receiver.state == 1)
        child.send(SIGINT)
        #expect(try child.waitForExit() == 0)
        #expect(child.stderrText.contains("holding the sockets open; compare with: ss -tn"))
        // Ctrl-C closed both: the kernel no longer lists them as established.
        #expect(try FloodProcSocket.find(local: local, remote: peer)?.state != 1)
    }

    @Test("flood --plot FILE: a well-formed SVG with one plotted point per sample")
    func plotFile() throws {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("flood-\(UUID().uuidString).svg").path
        defer { try? FileManager.default.removeItem(atPath: path) }
        let result = try ChildProcess.sockettool(
            ["flood", "--sndbuf", "4096", "--rcvbuf", "4096", "--quiet-period", "0.2", "--json", "--plot", path]
        )
        #expect(result.status == 0, "\(result.stderr)")
        let summary = try #require(floodEvents(result.stdout).last)
        #expect(summary["plot"] as? String == path)
        let samples = try #require(summary["samples"] as? Int)
        let svg = try SVGDocument(contentsOf: path)
        #expect(svg.root == "svg")
        #expect(svg.rootAttributes["data-samples"] == String(samples))
        #expect(svg.points["queued"]?.count == samples)
        #expect(svg.points["recv-q"]?.count == samples)
        // The plotted top edge ends at Recv-Q + Send-Q.
        let plot = try #require(svg.rootAttributes["data-plot"]).split(separator: " ").compactMap { Double($0) }
        let yMaximum = try #require(Double(svg.rootAttributes["data-y-max"] ?? ""))
        let last = try #require(svg.points["queued"]?.last)
        let plotted = (plot[3] - last.y) / (plot[3] - plot[1]) * yMaximum
        let queued = Double((summary["recv_q"] as? Int ?? 0) + (summary["send_q"] as? Int ?? 0))
        #expect(abs(plotted - queued) <= yMaximum / (plot[3] - plot[1]) * 0.1 + 1)
    }

    @Test("flood --plot into a directory that does not exist fails before flooding, with status 71")
    func plotPathFailsEarly() throws {
        let result = try ChildProcess.sockettool(["flood", "--plot", "/nonexistent-flood-dir/x.svg"])
        #expect(result.status == ExitStatus.systemError)
        #expect(result.stderr.contains("open(/nonexistent-flood-dir/x.svg): No such file or directory"))
        #expect(!result.stdout.contains("Listening on"))
    }

    // MARK: - Two processes

    @Test("flood serve + flood HOST PORT: the sender shows the server's Recv-Q, the server reports the same")
    func serveAndSendInTwoProcesses() throws {
        try withServer(["flood", "serve", "127.0.0.1", "0"]) { server, port in
            let result = try ChildProcess.sockettool(["flood", "127.0.0.1", String(port), "--sndbuf", "64k", "--json"])
            #expect(result.status == 0, "\(result.stderr)")
            let events = floodEvents(result.stdout)
            let summary = try #require(events.last)
            #expect(summary["event"] as? String == "summary")
            #expect(summary["mode"] as? String == "client")
            let receiveQueue = try #require(summary["recv_q"] as? Int, "the server's Recv-Q was not found")
            let sendQueue = try #require(summary["send_q"] as? Int)
            #expect(receiveQueue > 0 && sendQueue > 0)
            #expect(receiveQueue + sendQueue == summary["bytes_accepted"] as? Int)
            #expect(events.contains { $0["event"] as? String == "would_block" })
            #expect(events.filter { $0["event"] as? String == "socket" }.count == 2)

            // The sender ended with a reset; the server says so, with the bytes it never read.
            let closed = try server.waitForLine { $0.hasPrefix("Closing connection to") }
            #expect(closed.hasSuffix("reset by the peer, \(NumberFormat.grouped(receiveQueue)) bytes never read"))
            #expect(server.stdoutLines.contains { $0.hasPrefix("Accepted connection from 127.0.0.1:") })
            #expect(server.stdoutLines.contains { $0.contains("  Recv-Q \(NumberFormat.grouped(receiveQueue)) (+") })
            server.send(SIGINT)
            #expect(try server.waitForExit() == 0)
            let rest = try server.remainingLines()
            #expect(rest.contains { $0.hasPrefix("Stopped (SIGINT): 1 connection accepted") }, "\(rest)")
        }
    }

    @Test("flood against an echo server: the explanation names the echoes it never read, not a slow reader")
    func floodAgainstAnEchoServer() throws {
        try withServer(["serve", "multi", "127.0.0.1", "0", "-q"]) { server, port in
            let result = try ChildProcess.sockettool(["flood", "127.0.0.1", String(port), "--sndbuf", "64k"])
            #expect(result.status == 0, "\(result.stdout)\n\(result.stderr)")
            #expect(result.stdout.contains("The server sends data back ("), "\(result.stdout)")
            #expect(result.stdout.contains("bytes wait unread in our Recv-Q): an echo server."), "\(result.stdout)")
            #expect(!result.stdout.contains("slower than we send"), "\(result.stdout)")
            server.send(SIGINT)
            #expect(try server.waitForExit() == 0)
        }
    }

    @Test("flood serve: data that arrives with the FIN, before any tick saw it, still counts as never read")
    func dataWithTheFinIsCounted() throws {
        try withServer(["flood", "serve", "127.0.0.1", "0"]) { server, port in
            let client = try LoopbackClient.connect(port: port)
            try client.send(Array(repeating: UInt8(ascii: "x"), count: 1000))
            client.close()
            let closed = try server.waitForLine { $0.hasPrefix("Closing connection to") }
            #expect(closed.hasSuffix("the peer closed it, 1,000 bytes never read"), "\(closed)")
            server.send(SIGINT)
            #expect(try server.waitForExit() == 0)
            let rest = try server.remainingLines()
            #expect(rest.contains { $0.hasSuffix("1,000 bytes arrived that were never read.") }, "\(rest)")
        }
    }

    /// flood serve may listen on every interface; without a cap, any peer could make it hold (and, with
    /// --drain, buffer for) as many connections as it has descriptors.
    @Test("flood serve --max-conns 1: a second client waits in the listen queue until the first leaves")
    func serveHoldsAtMostMaxConnections() throws {
        try withServer(["flood", "serve", "127.0.0.1", "0", "--max-conns", "1"]) { server, port in
            let first = try LoopbackClient.connect(port: port)
            let firstPort = first.boundPort
            _ = try server.waitForLine { $0 == "Accepted connection from 127.0.0.1:\(firstPort)" }
            let second = try LoopbackClient.connect(port: port)
            defer { second.close() }
            // The kernel completed the second handshake; the connection waits, not accepted, in the queue.
            let waiting = try eventually { try ResilienceSockets.acceptQueue(port: port) == 1 }
            #expect(waiting, "\(server.transcript)")
            #expect(server.stderrText.contains("connection limit reached (--max-conns 1)"), "\(server.transcript)")
            #expect(!server.stdoutLines.contains("Accepted connection from 127.0.0.1:\(second.boundPort)"))
            first.close()
            _ = try server.waitForLine { $0 == "Accepted connection from 127.0.0.1:\(second.boundPort)" }
            server.send(SIGINT)
            #expect(try server.waitForExit() == 0)
        }
    }

    @Test("the server resets mid-run: the summary still comes, then the reset as an error, exit status 1")
    func serverResetsMidRun() throws {
        // The server gives up after 3 s (counted from its start: time enough for a client spawned on a busy
        // machine to connect) and closes with unread data, which sends a reset; the client's 10 s quiet period
        // keeps it sending until then.
        try withServer(["flood", "serve", "127.0.0.1", "0", "--duration", "3"]) { server, port in
            let result = try ChildProcess.sockettool(["flood", "127.0.0.1", String(port), "--quiet-period", "10"])
            #expect(result.status == ExitStatus.failure, "\(result.stdout)\n\(result.stderr)")
            #expect(result.stdout.contains("send() failed after "))
            #expect(result.stdout.contains("until the connection was reset"))
            // Linux reports the reset as ECONNRESET, or as EPIPE when a FIN from the server came first and the
            // socket was already in CLOSE-WAIT (tcp_reset): which one depends on timing, both are the reset.
            #expect(
                result.stderr.contains("error: send(127.0.0.1:\(port)): Connection reset by peer")
                    || result.stderr.contains("error: send(127.0.0.1:\(port)): Broken pipe"),
                "\(result.stderr)"
            )
            #expect(result.stderr.contains("hint: "))
            #expect(try server.waitForExit() == 0)
        }
    }

    @Test("flood against a closed port: connection refused, hints on stderr, exit status 69, no crash")
    func refusedConnection() throws {
        let closed = try ClosedPort()
        let result = try ChildProcess.sockettool(["flood", "127.0.0.1", String(closed.port)])
        #expect(result.status == ExitStatus.unavailable)
        #expect(result.stderr.contains("error: connect(127.0.0.1:\(closed.port)): Connection refused"))
        #expect(result.stderr.contains("hint: nothing is listening on 127.0.0.1:\(closed.port)"))
        #expect(result.stderr.contains("sockettool flood serve 127.0.0.1 \(closed.port)"))
    }

    // MARK: - Options

    @Test(
        "bad options are usage errors (status 64)",
        arguments: [
            ["flood", "--chunk", "0"],
            ["flood", "--chunk", "12q"],
            ["flood", "--sndbuf", "-5"],
            ["flood", "--quiet-period", "0"],
            ["flood", "127.0.0.1", "65432", "--drain", "64k"],
            ["flood", "127.0.0.1", "65432", "--rcvbuf", "4096"],
            ["flood", "127.0.0.1", "99999"],
            ["flood", "serve", "--rcvbuf", "0"],
        ]
    )
    func badOptions(arguments: [String]) throws {
        let result = try ChildProcess.sockettool(arguments)
        #expect(result.status == ExitStatus.usage, "\(arguments): \(result.stderr)")
        #expect(result.stdout.isEmpty)
    }
}
