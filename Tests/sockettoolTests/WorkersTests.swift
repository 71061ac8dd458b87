// WorkersTests.swift -- `serve multi` and `serve app` with --workers (issue 15): several loops answer many
// clients at once byte for byte, the connection cap and the stats are those of the whole server, a drain
// stops every loop and the process exits once, and a socket the service manager passes is every loop's.
import Foundation
import Glibc
import SocketCore
import Testing

@testable import sockettool

@Suite("--workers: N loops, one listening socket, one server's limits and stats")
struct WorkersTests {
    /// Clients connected at once in the many-clients tests.
    static let clientCount = 64

    @Test("serve multi --workers 2: 64 clients at once each get their own bytes back", arguments: SelectorKind.allCases)
    func multiEchoesManyClients(backend: SelectorKind) throws {
        let server = try ChildProcess(
            sockettool: ["serve", "multi", "127.0.0.1", "0", "--workers", "2", "--backend", backend.rawValue, "-q"]
        )
        let port = try server.listeningPort()
        var clients: [LoopbackClient] = []
        defer { for client in clients { client.close() } }
        for _ in 0..<Self.clientCount { clients.append(try LoopbackClient.connect(port: port)) }
        // Every client sends before any reads: the server holds all of them open at once.
        var messages: [[UInt8]] = []
        for client in clients {
            let message = try randomBytes(Int.random(in: 1...20_000))
            try client.send(message)
            messages.append(message)
        }
        for (client, message) in zip(clients, messages) {
            #expect(try client.readExactly(message.count, timeout: .seconds(20)) == message, "an echo differs")
        }
        server.send(SIGUSR1)
        let stats = try server.waitForLine { $0.hasPrefix("Stats: ") }
        #expect(stats.hasPrefix("Stats: \(Self.clientCount) open, \(Self.clientCount) accepted, "), "\(stats)")
        #expect(stats.hasSuffix(", 2 workers"), "\(stats)")
        #expect(try server.terminate() == 0, "\(server.transcript)")
    }

    @Test(
        "serve app --workers 2: 64 requests at once, each answered with the guide's bytes",
        arguments: SelectorKind.allCases
    )
    func appAnswersManyClients(backend: SelectorKind) throws {
        let server = try ChildProcess(
            sockettool: ["serve", "app", "127.0.0.1", "0", "--workers", "2", "--backend", backend.rawValue, "-q"]
        )
        let port = try server.listeningPort()
        let questions: [(String, String)] = [
            ("morpheus", "Follow the white rabbit. \u{1F430}"),
            ("ring", "In the caves beneath the Misty Mountains. \u{1F48D}"),
            ("\u{1F436}", "\u{1F43E} Playing ball! \u{1F3D0}"),
            ("neo", "No match for 'neo'."),
        ]
        var clients: [LoopbackClient] = []
        defer { for client in clients { client.close() } }
        for _ in 0..<Self.clientCount { clients.append(try LoopbackClient.connect(port: port)) }
        for (index, client) in clients.enumerated() {
            try client.send(AppWire.searchRequest(questions[index % questions.count].0))
        }
        for (index, client) in clients.enumerated() {
            // The guide's bytes: json.dumps(ensure_ascii=False), the header's keys in its order.
            let content = Array("{\"result\": \"\(questions[index % questions.count].1)\"}".utf8)
            let expected = AppWire.message(
                header: AppWire.header(contentLength: String(content.count)),
                content: content
            )
            let (bytes, end) = client.readToEnd(timeout: .seconds(20))
            #expect(bytes == expected, "client \(index): \(bytes.count) bytes, \(end)")
        }
        server.send(SIGUSR1)
        let stats = try server.waitForLine { $0.hasPrefix("Stats: ") }
        #expect(stats.contains(" \(Self.clientCount) accepted, \(Self.clientCount) requests, "), "\(stats)")
        #expect(try server.terminate() == 0, "\(server.transcript)")
    }

    @Test("--max-conns 4 --workers 2: four open over both loops, the next four wait in the listen queue")
    func connectionCapIsGlobal() throws {
        let server = try ChildProcess(
            sockettool: ["serve", "multi", "127.0.0.1", "0", "--workers", "2", "--max-conns", "4", "-q"]
        )
        let port = try server.listeningPort()
        var first: [LoopbackClient] = []
        var waiting: [LoopbackClient] = []
        defer { for client in first + waiting { client.close() } }
        for _ in 0..<4 {
            let client = try LoopbackClient.connect(port: port)
            first.append(client)
            try client.send(Array("in".utf8))
            #expect(try client.readExactly(2) == Array("in".utf8))
        }
        for _ in 0..<4 {
            let client = try LoopbackClient.connect(port: port)
            waiting.append(client)
            try client.send(Array("wait".utf8))
        }
        // Neither loop took them: all four are still in the kernel's accept queue.
        let queued = try eventually { try ResilienceSockets.acceptQueue(port: port) == 4 }
        let queue = try ResilienceSockets.acceptQueue(port: port)
        #expect(queued, "the accept queue holds \(String(describing: queue)), not 4")
        server.send(SIGUSR1)
        let atCap = try server.waitForLine { $0.hasPrefix("Stats: ") }
        #expect(atCap.hasPrefix("Stats: 4 open, 4 accepted, "), "\(atCap)")
        for client in first { client.close() }
        first.removeAll()
        for client in waiting {
            #expect(try client.readExactly(4, timeout: .seconds(20)) == Array("wait".utf8))
        }
        server.send(SIGUSR1)
        let after = try server.waitForLine { $0.hasPrefix("Stats: ") && $0 != atCap }
        #expect(after.hasPrefix("Stats: 4 open, 8 accepted, "), "\(after)")
        #expect(server.stderrText.contains("connection limit reached (--max-conns 4)"), "\(server.transcript)")
        #expect(try server.terminate() == 0, "\(server.transcript)")
    }

    @Test("SIGUSR1 with --json --workers 2: the stats event counts every loop's requests and bytes")
    func statsTotalAcrossLoops() throws {
        let server = try ChildProcess(sockettool: ["serve", "app", "127.0.0.1", "0", "--workers", "2", "--json"])
        let port = try server.listeningPort()
        let count = 40
        var clients: [LoopbackClient] = []
        defer { for client in clients { client.close() } }
        for _ in 0..<count { clients.append(try LoopbackClient.connect(port: port)) }
        for client in clients { try client.send(AppWire.searchRequest("morpheus")) }
        for client in clients { _ = try client.readFrame(timeout: .seconds(20)) }
        for _ in 0..<count { _ = try server.waitForLine { $0.contains("\"event\": \"closed\"") } }
        // The first loop sums the others' counters as they are at that moment, and a loop prints a JSON line
        // at once, a moment before it counts that connection's close and bytes: ask until the sum settles.
        var line = ""
        var stats: [String: Any] = [:]
        let settled = try eventually(every: .milliseconds(50)) {
            server.send(SIGUSR1)
            line = try server.waitForLine { $0.contains("\"event\": \"stats\"") }
            stats = try #require(try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any])
            return stats["open"] as? Int == 0 && stats["bytes_out"] as? Int == count * 148
        }
        #expect(settled, "the stats never settled: \(line)")
        #expect(stats["open"] as? Int == 0, "\(line)")
        #expect(stats["accepted"] as? Int == count, "\(line)")
        #expect(stats["requests"] as? Int == count, "\(line)")
        #expect(stats["bytes_in"] as? Int == count * 146, "\(line)")
        #expect(stats["bytes_out"] as? Int == count * 148, "\(line)")
        #expect(stats["workers"] as? Int == 2, "\(line)")
        #expect(try server.terminate() == 0, "\(server.transcript)")
    }

    @Test(
        "SIGTERM --workers 2: requests half sent on both loops are answered, then one exit 0",
        arguments: SelectorKind.allCases
    )
    func termDrainsEveryLoop(backend: SelectorKind) throws {
        let server = try ChildProcess(
            sockettool: [
                "serve", "app", "127.0.0.1", "0", "--workers", "2", "--grace", "60", "--request-timeout", "60",
                "--backend", backend.rawValue,
            ]
        )
        let port = try server.listeningPort()
        let request = AppWire.searchRequest("ring")
        var clients: [LoopbackClient] = []
        defer { for client in clients { client.close() } }
        for _ in 0..<8 {
            let client = try LoopbackClient.connect(port: port)
            clients.append(client)
            try client.send(Array(request.prefix(40)))
        }
        try server.waitForAcceptedLines(of: clients)
        for client in clients {
            // Read, so in flight: a connection that has sent nothing the server read is closed at once.
            let read = try eventually {
                try ResilienceSockets.serverSide(port: port, client: client.boundPort)?.receiveQueue == 0
            }
            try #require(read, "the server did not read the first bytes of \(client.boundPort)")
        }
        server.send(SIGTERM)
        _ = try server.waitForLine { $0 == "Caught SIGTERM, exiting" }
        #expect(throws: SystemError.self, "a new connection was accepted after SIGTERM") {
            try LoopbackClient.connect(port: port, timeout: .seconds(2)).close()
        }
        for client in clients {
            try client.send(Array(request.dropFirst(40)))
            let frame = try client.readFrame(timeout: .seconds(20))
            #expect(AppWire.result(of: frame) == "In the caves beneath the Misty Mountains. \u{1F48D}")
        }
        #expect(try server.waitForExit(timeout: .seconds(20)) == 0, "\(server.transcript)")
        let lines = server.stdoutLines + (try server.remainingLines())
        #expect(lines.filter { $0 == "Caught SIGTERM, exiting" }.count == 1, "\(lines)")
        #expect(lines.filter { $0.hasPrefix("Listening on") }.count == 1, "\(lines)")
    }

    @Test(
        "under systemd-socket-activate --workers 2: every loop serves the passed socket",
        .enabled(if: Activation.socketActivate != nil, "systemd-socket-activate is not installed (Debian: systemd)"),
        arguments: [ServerCommand.app, .multi]
    )
    func underSocketActivate(command: ServerCommand) throws {
        let listener = try LoopbackListener()
        defer { listener.socket.close() }
        let server = try Activation.startUnderSocketActivate(
            command.words + ["--workers", "2"],
            listener: listener,
            options: ["--fdname=\(command.rawValue)"]
        )
        try command.exchange(port: listener.port)
        #expect(try server.listeningPort() == listener.port, "\(server.transcript)")
        for _ in 0..<20 { try command.exchange(port: listener.port) }
        server.send(SIGUSR1)
        let stats = try server.waitForLine { $0.hasPrefix("Stats: ") }
        #expect(stats.contains(" 21 accepted, ") && stats.hasSuffix(", 2 workers"), "\(stats)")
        #expect(try server.terminate() == 0, "\(server.transcript)")
        #expect(server.stderrText.contains("Execing"), "not started by systemd-socket-activate: \(server.transcript)")
    }

    @Test(
        "--workers 0 or above the maximum is a usage error that says the range",
        arguments: [["serve", "multi"], ["serve", "app"]],
        ["0", "65", "-1"]
    )
    func outOfRange(command: [String], value: String) throws {
        let run = try runSockettool(command + ["127.0.0.1", "0", "--workers=\(value)"])
        #expect(run.status == CLIContractExitStatusTests.usage.status, "\(run.transcript)")
        #expect(
            run.stderrLines.first?.hasPrefix("error: --workers must be from 1 to \(ServerWorkers.maximumCount)")
                == true,
            "\(run.transcript)"
        )
        #expect(!run.stdout.contains("Listening"), "\(run.transcript)")
    }

    @Test("SOCKETTOOL_TEST_WORKERS: the servers this pass starts run that many loops")
    func thisPassRunsItsWorkers() throws {
        let server = try ChildProcess(sockettool: ["serve", "app", "127.0.0.1", "0"])
        _ = try server.listeningPort()
        server.send(SIGUSR1)
        let stats = try server.waitForLine { $0.hasPrefix("Stats: ") }
        if let count = TestWorkers.count {
            #expect(stats.hasSuffix(", \(count) workers"), "\(stats)")
        } else {
            #expect(!stats.contains("workers"), "\(stats)")
        }
        #expect(try server.terminate() == 0, "\(server.transcript)")
    }
}
