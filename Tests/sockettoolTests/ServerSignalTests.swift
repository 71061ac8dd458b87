// ServerSignalTests.swift -- the signals an operator sends a server (issue 15): SIGHUP drains like SIGTERM
// (never the default death, exit 129), SIGUSR1 prints one stats line (a JSON "stats" event with --json) and
// the server goes on, --stats-interval prints the same line periodically.
import Foundation
import Glibc
import SocketCore
import Testing

@testable import sockettool

@Suite("Signals: SIGHUP drains, SIGUSR1 and --stats-interval print the stats")
struct ServerSignalTests {
    @Test("SIGHUP: an idle server exits 0 with 'Caught SIGHUP, exiting'", arguments: ServerCommand.allCases)
    func hangupEndsCleanly(command: ServerCommand) throws {
        let server = try ChildProcess(sockettool: command.words + ["127.0.0.1", "0"])
        let port = try server.listeningPort()
        try command.exchange(port: port)
        server.send(SIGHUP)
        #expect(try server.waitForExit(timeout: .seconds(10)) == 0, "\(server.transcript)")
        let lines = server.stdoutLines + (try server.remainingLines())
        #expect(lines.contains("Caught SIGHUP, exiting"), "\(lines)")
    }

    @Test("SIGHUP with a request half sent: the listener closes at once, the response still comes whole")
    func hangupDrainsLikeTerm() throws {
        let server = try ResilientServer(.app, ["--grace", "5"])
        let client = try LoopbackClient.connect(port: server.port)
        defer { client.close() }
        let request = AppWire.searchRequest("morpheus")
        try client.send(Array(request.prefix(60)))
        _ = try server.process.waitForLine { $0 == "Accepted connection from 127.0.0.1:\(client.boundPort)" }
        let read = try eventually {
            try ResilienceSockets.serverSide(port: server.port, client: client.boundPort)?.receiveQueue == 0
        }
        try #require(read, "the server did not read the first bytes")

        server.process.send(SIGHUP)
        _ = try server.process.waitForLine { $0 == "Caught SIGHUP, exiting" }
        #expect(throws: SystemError.self, "a new connection was accepted after SIGHUP") {
            try LoopbackClient.connect(port: server.port, timeout: .seconds(2)).close()
        }
        try client.send(Array(request.dropFirst(60)))
        let frame = try client.readFrame(timeout: .seconds(5))
        #expect(AppWire.result(of: frame) == "Follow the white rabbit. \u{1F430}")
        #expect(try server.process.waitForExit(timeout: .seconds(10)) == 0, "\(server.process.transcript)")
    }

    @Test("SIGUSR1: one stats line of what was done, and the server goes on serving", arguments: ServerCommand.allCases)
    func statsOnUser1(command: ServerCommand) throws {
        let server = try ChildProcess(sockettool: command.words + ["127.0.0.1", "0"])
        let port = try server.listeningPort()
        for _ in 0..<3 { try command.exchange(port: port) }
        // Each client has left; the counts are final once the server has closed all three.
        for _ in 0..<3 { _ = try server.waitForLine { $0.hasPrefix("Closing connection to") } }
        server.send(SIGUSR1)
        let stats = try server.waitForLine { $0.hasPrefix("Stats: ") }
        switch command {
        case .app:
            #expect(
                stats.hasPrefix("Stats: 0 open, 3 accepted, 3 requests, 438 bytes in, 444 bytes out, 0 errors, up "),
                "\(stats)"
            )
        case .echo, .multi, .discard:
            #expect(stats.hasPrefix("Stats: 0 open, 3 accepted, "), "\(stats)")
            #expect(!stats.contains("requests") && stats.contains(" bytes in, ") && stats.contains("0 errors, up "))
        case .flood:
            #expect(stats.hasPrefix("Stats: 0 open, 3 accepted, 0 bytes in, 0 bytes out, 0 errors, up "), "\(stats)")
        }
        // Two more at once: a request, never a stuck loop's second signal.
        server.send(SIGUSR1)
        server.send(SIGUSR1)
        _ = try server.waitForLine { $0.hasPrefix("Stats: ") }
        try command.exchange(port: port)
        #expect(try server.terminate() == 0, "\(server.transcript)")
    }

    @Test("SIGUSR1 with --json: a 'stats' event with every counter, errors by kind")
    func statsEventInJSON() throws {
        let server = try ChildProcess(sockettool: ["serve", "app", "127.0.0.1", "0", "--json"])
        let port = try server.listeningPort()
        try ServerCommand.app.exchange(port: port)
        let bad = try LoopbackClient.connect(port: port)
        try bad.send(AppWire.message(header: #"{"byteorder": "little"}"#))
        _ = bad.readToEnd(timeout: .seconds(5))
        bad.close()
        for _ in 0..<2 { _ = try server.waitForLine { $0.contains(#""event": "closed""#) } }
        server.send(SIGUSR1)
        let line = try server.waitForLine { $0.contains(#""event": "stats""#) }
        let object = try #require(try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any])
        #expect(object["accepted"] as? Int == 2)
        #expect(object["requests"] as? Int == 1)
        #expect(object["open"] as? Int == 0)
        #expect((object["bytes_in"] as? Int ?? 0) > 146 && (object["bytes_out"] as? Int ?? 0) > 148)
        #expect((object["errors"] as? [String: Int])?["bad_request"] == 1, "\(line)")
        #expect(object["uptime_s"] is Double && object["workers"] as? Int != nil, "\(line)")
        #expect(try server.terminate() == 0)
    }

    @Test("--stats-interval 0.2: the stats line again and again, with the counts as they grow")
    func periodicStats() throws {
        let server = try ChildProcess(sockettool: ["serve", "app", "127.0.0.1", "0", "-q", "--stats-interval", "0.2"])
        let port = try server.listeningPort()
        _ = try server.waitForLine { $0.hasPrefix("Stats: 0 open, 0 accepted, 0 requests") }
        try ServerCommand.app.exchange(port: port)
        _ = try server.waitForLine { $0.hasPrefix("Stats: 0 open, 1 accepted, 1 requests") }
        _ = try server.waitForLine { $0.hasPrefix("Stats: 0 open, 1 accepted, 1 requests") }
        #expect(try server.terminate() == 0)
        let rejected = try ChildProcess.sockettool(["serve", "app", "0", "--stats-interval", "0"])
        #expect(rejected.status == ExitStatus.usage && rejected.stderr.contains("--stats-interval"))
    }

    @Test("serve echo: SIGUSR1 in the middle of a session prints the line, and the session goes on")
    func echoStatsMidSession() throws {
        let server = try ChildProcess(sockettool: ["serve", "echo", "127.0.0.1", "0"])
        let port = try server.listeningPort()
        let client = try LoopbackClient.connect(port: port)
        defer { client.close() }
        try client.send(Array("twelve bytes".utf8))
        #expect(try client.readExactly(12) == Array("twelve bytes".utf8))
        server.send(SIGUSR1)
        let stats = try server.waitForLine { $0.hasPrefix("Stats: ") }
        #expect(stats.hasPrefix("Stats: 1 open, 1 accepted, 12 bytes in, 12 bytes out, 0 errors, up "), "\(stats)")
        try client.send(Array("more".utf8))
        #expect(try client.readExactly(4) == Array("more".utf8))
        client.close()
        #expect(try server.waitForExit() == 0, "\(server.transcript)")
    }
}
