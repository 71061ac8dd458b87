// CLIContractJSONTests.swift -- --json for every command and mode: each stdout line parses alone with
// Foundation's JSONSerialization into an object with an "event", keys are snake_case and sorted, byte
// counts are integers.
import Foundation
import Glibc
import SocketCore
import Testing

@Suite("CLI contract: --json for every command")
struct CLIContractJSONTests {
    // MARK: - Servers

    @Test("serve echo --json (and -v, which adds the data events)", arguments: [[], ["-v"]])
    func serveEcho(verbosity: [String]) throws {
        let server = try ChildProcess(
            sockettool: ["serve", "echo", "127.0.0.1", "0", "--json"] + verbosity,
            environment: contractEnvironment
        )
        let port = try server.listeningPort()
        let client = try LoopbackClient.connect(port: port)
        try client.send(Array("Hello, world".utf8))
        #expect(try client.readExactly(12) == Array("Hello, world".utf8))
        client.close()
        // Without --keep the server exits after its one client.
        #expect(try server.waitForExit() == 0, "\(server.transcript)")
        let events = expectNDJSON(server.stdoutLines + (try server.remainingLines()), "serve echo --json")
        let names = eventNames(events)
        #expect(names.first == "listening", "\(names)")
        // -v ends each connection with its TCP_INFO: who closed first, here the client.
        #expect(names.last == (verbosity.isEmpty ? "closed" : "tcp_info"), "\(names)")
        #expect(names.contains("accepted"), "\(names)")
        #expect(events.first?["port"] as? Int == Int(port))
        if !verbosity.isEmpty {
            #expect(events.last?["closed_first"] as? String == "client", "\(names)")
            #expect(events.last?["bytes_received"] as? Int == 12, "\(names)")
        }
        // Like the text lines, the per-read events come with -v only.
        let received = events.filter { $0["event"] as? String == "received" }.compactMap { $0["bytes"] as? Int }
        #expect(received.reduce(0, +) == (verbosity.isEmpty ? 0 : 12), "\(names)")
    }

    @Test(
        "every server's shutdown event names the signal",
        arguments: [["serve", "echo"], ["serve", "multi"], ["serve", "app"], ["flood", "serve"]]
    )
    func shutdownNamesTheSignal(server command: [String]) throws {
        let server = try ChildProcess(
            sockettool: command + ["127.0.0.1", "0", "--json"],
            environment: contractEnvironment
        )
        _ = try server.listeningPort()
        server.send(SIGINT)
        #expect(try server.waitForExit() == 0, "\(server.transcript)")
        let events = expectNDJSON(server.stdoutLines + (try server.remainingLines()), command.joined(separator: " "))
        let shutdown = try #require(events.first { $0["event"] as? String == "shutdown" }, "\(events)")
        #expect(shutdown["signal"] as? String == "SIGINT", "\(shutdown)")
    }

    @Test("serve multi --json")
    func serveMulti() throws {
        let server = try ChildProcess(
            sockettool: ["serve", "multi", "127.0.0.1", "0", "--json"],
            environment: contractEnvironment
        )
        let port = try server.listeningPort()
        for message in ["one", "two"] {
            let client = try LoopbackClient.connect(port: port)
            try client.send(Array(message.utf8))
            #expect(try client.readExactly(message.utf8.count) == Array(message.utf8))
            client.close()
        }
        // Both closes are seen before the signal.
        var closed = 0
        while closed < 2 {
            _ = try server.waitForLine { $0.contains(#""event": "closed""#) }
            closed += 1
        }
        server.send(SIGTERM)
        #expect(try server.waitForExit() == 0, "\(server.transcript)")
        let events = expectNDJSON(server.stdoutLines + (try server.remainingLines()), "serve multi --json")
        let names = eventNames(events)
        #expect(names.first == "listening", "\(names)")
        #expect(names.count { $0 == "accepted" } == 2, "\(names)")
        #expect(names.count { $0 == "closed" } == 2, "\(names)")
        #expect(names.last == "shutdown", "\(names)")
    }

    @Test("serve app --json")
    func serveApp() throws {
        let server = try ChildProcess(
            sockettool: ["serve", "app", "127.0.0.1", "0", "--json"],
            environment: contractEnvironment
        )
        let port = try server.listeningPort()
        let client = try LoopbackClient.connect(port: port)
        try client.send(AppWire.searchRequest("morpheus"))
        let frame = try client.readFrame()
        #expect(AppWire.result(of: frame) == "Follow the white rabbit. 🐰")
        client.close()
        let binary = try LoopbackClient.connect(port: port)
        try binary.send(
            AppWire.message(
                header: AppWire.header(
                    contentType: #""binary/custom-client-binary-type""#,
                    contentEncoding: #""binary""#,
                    contentLength: "10"
                ),
                content: Array("binary😃".utf8)
            )
        )
        _ = try binary.readFrame()
        binary.close()
        _ = try server.waitForLine { $0.contains(#""event": "closed""#) }
        _ = try server.waitForLine { $0.contains(#""event": "closed""#) }
        server.send(SIGINT)
        #expect(try server.waitForExit() == 0, "\(server.transcript)")
        let events = expectNDJSON(server.stdoutLines + (try server.remainingLines()), "serve app --json")
        let names = eventNames(events)
        for name in ["listening", "accepted", "received", "sent", "closed"] {
            #expect(names.contains(name), "\(names)")
        }
        let requests = events.filter { $0["event"] as? String == "received" }
        #expect(requests.first?["content_length"] as? Int == 41, "\(requests)")
        let sent = events.filter { $0["event"] as? String == "sent" }.compactMap { $0["bytes"] as? Int }
        #expect(sent.first == 148, "the guide's 148-byte morpheus response: \(sent)")
    }

    // MARK: - Clients

    @Test(
        "connect --json, every mode",
        arguments: [
            [],
            ["--conns", "2"],
            ["--bytes", "100000"],
            ["--duration", "1"],
        ]
    )
    func connect(mode: [String]) throws {
        try withServer(["serve", "multi", "127.0.0.1", "0", "-q"]) { server, port in
            let run = try runSockettool(["connect", "127.0.0.1", String(port)] + mode + ["--json"])
            #expect(run.status == 0, "\(run.transcript)")
            let events = expectNDJSON(run.stdoutLines, "connect \(mode) --json")
            let summary = try #require(events.last, "\(run.transcript)")
            #expect(summary["event"] as? String == "summary", "\(run.transcript)")
            let sent = try #require(summary["bytes_sent"] as? Int, "\(summary)")
            let received = try #require(summary["bytes_received"] as? Int, "\(summary)")
            if mode.first == "--duration" {
                #expect(sent > 0 && received > 0 && received <= sent, "\(summary)")
                #expect(summary["latency_p50_us"] is Double || summary["latency_p50_us"] is Int, "\(summary)")
            } else {
                let expected = ["--conns": 2 * 44, "--bytes": 100_000][mode.first ?? ""] ?? 12
                #expect(sent == expected && received == expected, "\(summary)")
            }
            server.send(SIGTERM)
            #expect(try server.waitForExit() == 0)
        }
    }

    @Test(
        "search --json, every mode",
        arguments: [
            ["morpheus"],
            ["--binary", "😃"],
            ["x", "--count", "50"],
        ]
    )
    func search(mode: [String]) throws {
        try withServer(["serve", "app", "127.0.0.1", "0", "-q"]) { server, port in
            let run = try runSockettool(["search", "127.0.0.1", String(port)] + mode + ["--json"])
            #expect(run.status == 0, "\(run.transcript)")
            let events = expectNDJSON(run.stdoutLines, "search \(mode) --json")
            let names = eventNames(events)
            switch mode.first {
            case "morpheus":
                let result = events.first { $0["event"] as? String == "result" }
                #expect(result?["result"] as? String == "Follow the white rabbit. 🐰", "\(run.transcript)")
                #expect(names.first == "starting" && names.last == "closed", "\(names)")
            case "--binary":
                let result = events.first { $0["event"] as? String == "result" }
                #expect(result?["content_length"] as? Int == 37, "\(run.transcript)")
                #expect(result?["content_type"] as? String == "binary/custom-server-binary-type")
                // The bytes themselves, decoded by Foundation: what the guide's server answers.
                let encoded = try #require(result?["content_base64"] as? String, "\(run.transcript)")
                #expect(
                    Data(base64Encoded: encoded) == Data("First 10 bytes of request: binary\u{1F603}".utf8),
                    "\(encoded)"
                )
            default:
                let summary = try #require(events.last, "\(run.transcript)")
                #expect(summary["event"] as? String == "summary", "\(run.transcript)")
                #expect(summary["requests"] as? Int == 50, "\(summary)")
                #expect(summary["failed"] as? Int == 0, "\(summary)")
            }
            server.send(SIGTERM)
            #expect(try server.waitForExit() == 0)
        }
    }

    @Test("flood --sndbuf 4096 --rcvbuf 4096 --json: the queues add up, in integers")
    func flood() throws {
        let run = try runSockettool(["flood", "--sndbuf", "4096", "--rcvbuf", "4096", "--json"], timeout: .seconds(20))
        #expect(run.status == 0, "\(run.transcript)")
        let events = expectNDJSON(run.stdoutLines, "flood --json")
        let names = eventNames(events)
        for name in ["listening", "accepted", "would_block", "stopped", "socket"] {
            #expect(names.contains(name), "\(names)")
        }
        let summary = try #require(events.last)
        #expect(summary["event"] as? String == "summary", "\(names)")
        let accepted = try #require(summary["bytes_accepted"] as? Int, "\(summary)")
        let recvQ = try #require(summary["recv_q"] as? Int, "\(summary)")
        let sendQ = try #require(summary["send_q"] as? Int, "\(summary)")
        #expect(accepted == recvQ + sendQ, "\(summary)")
        #expect(accepted > 0)
    }
}
