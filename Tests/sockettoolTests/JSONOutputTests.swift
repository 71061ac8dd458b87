// JSONOutputTests.swift -- --json: every stdout line of servers and clients is one JSON object with an
// "event" key, parsed by Foundation's JSONSerialization, with the fields scripts rely on.
import Foundation
import Glibc
import SocketCore
import Testing

@Suite("--json: one JSON object per event per line")
struct JSONOutputTests {
    @Test("serve multi --json and connect --json: every line parses and names its event")
    func serveMultiAndConnect() throws {
        let server = try ChildProcess(sockettool: ["serve", "multi", "127.0.0.1", "0", "--json"])
        let port = try server.listeningPort()
        let single = try ChildProcess.sockettool(["connect", "127.0.0.1", String(port), "--json"])
        let multi = try ChildProcess.sockettool(["connect", "127.0.0.1", String(port), "--conns", "3", "--json"])
        let closed = try ClosedPort()
        let refused = try withExtendedLifetime(closed) {
            try ChildProcess.sockettool(["connect", "127.0.0.1", String(closed.port), "--json"])
        }
        server.send(SIGTERM)
        #expect(try server.waitForExit() == 0)
        let serverLines = server.stdoutLines + (try server.remainingLines())

        // Server: listening, then accepted/received/closed for 4 clients, then shutdown.
        let serverEvents = jsonLines(serverLines.joined(separator: "\n"))
        #expect(serverEvents.count == serverLines.filter { !$0.isEmpty }.count)
        #expect(serverEvents.allSatisfy { $0["event"] is String }, "\(serverLines)")
        let listening = try #require(serverEvents.first)
        #expect(listening["event"] as? String == "listening")
        #expect(listening["port"] as? Int == Int(port))
        #expect(listening["address"] as? String == "127.0.0.1:\(port)")
        #expect(serverEvents.count { $0["event"] as? String == "accepted" } == 4)
        #expect(serverEvents.count { $0["event"] as? String == "closed" } == 4)
        let echoed = serverEvents.filter { $0["event"] as? String == "received" }.compactMap { $0["bytes"] as? Int }
        let echoedTotal = echoed.reduce(0, +)
        #expect(echoedTotal == 144, "12 bytes from one client, 44 from each of three")
        #expect(serverEvents.count { $0["event"] as? String == "shutdown" } == 1)

        // One connection.
        #expect(single.status == 0, "\(single.stderr)")
        let singleEvents = jsonLines(single.stdout)
        #expect(singleEvents.allSatisfy { $0["event"] is String }, "\(single.stdout)")
        let received = try #require(singleEvents.first { $0["event"] as? String == "received" })
        #expect(received["bytes"] as? Int == 12)
        #expect(received["peer"] as? String == "127.0.0.1:\(port)")
        let summary = try #require(singleEvents.last)
        #expect(summary["event"] as? String == "summary")
        #expect(summary["bytes_sent"] as? Int == 12)
        #expect(summary["bytes_received"] as? Int == 12)

        // Three connections: starting, sent, received, closed for each, then the summary.
        #expect(multi.status == 0, "\(multi.stderr)")
        let multiEvents = jsonLines(multi.stdout)
        #expect(multiEvents.allSatisfy { $0["event"] is String }, "\(multi.stdout)")
        for kind in ["starting", "closed"] {
            let ids = multiEvents.filter { $0["event"] as? String == kind }.compactMap { $0["connection"] as? Int }
            #expect(ids.sorted() == [1, 2, 3], "\(kind): \(ids)")
        }
        #expect(multiEvents.filter { $0["event"] as? String == "sent" }.count == 6)
        #expect(multiEvents.last?["event"] as? String == "summary")
        #expect(multiEvents.last?["bytes_received"] as? Int == 132)

        // A failure is an "error" event on stdout too (and the exit status is unchanged).
        #expect(refused.status == 69)
        let refusedEvents = jsonLines(refused.stdout)
        #expect(refusedEvents.allSatisfy { $0["event"] is String }, "\(refused.stdout)")
        let error = try #require(refusedEvents.first { $0["event"] as? String == "error" }, "\(refused.stdout)")
        #expect(error["kind"] as? String == "connection_refused")
        #expect((error["hint"] as? String)?.isEmpty == false)
    }

    @Test("serve app --json and search --json: every line parses; the result is a JSON string")
    func serveAppAndSearch() throws {
        let server = try ChildProcess(sockettool: ["serve", "app", "127.0.0.1", "0", "--json"])
        let port = try server.listeningPort()
        let search = try ChildProcess.sockettool(["search", "127.0.0.1", String(port), "\u{1F436}", "--json"])
        #expect(search.status == 0, "\(search.stderr)")
        let events = jsonLines(search.stdout)
        #expect(events.allSatisfy { $0["event"] is String }, "\(search.stdout)")
        let result = try #require(events.first { $0["event"] as? String == "result" }, "\(search.stdout)")
        #expect(result["result"] as? String == "\u{1F43E} Playing ball! \u{1F3D0}")

        let bad = try LoopbackClient.connect(port: port)
        try bad.send(AppWire.message(header: "[]"))
        _ = bad.readToEnd()
        bad.close()
        server.send(SIGTERM)
        #expect(try server.waitForExit() == 0)
        let lines = server.stdoutLines + (try server.remainingLines())
        let serverEvents = jsonLines(lines.joined(separator: "\n"))
        #expect(serverEvents.count == lines.filter { !$0.isEmpty }.count)
        #expect(serverEvents.allSatisfy { $0["event"] is String }, "\(lines)")
        let request = try #require(serverEvents.first { $0["event"] as? String == "received" }, "\(lines)")
        #expect((request["request"] as? [String: Any])?["value"] as? String == "\u{1F436}")
        let error = try #require(serverEvents.first { $0["event"] as? String == "error" }, "\(lines)")
        #expect((error["message"] as? String)?.contains("must be an object") == true, "\(error)")
    }
}
