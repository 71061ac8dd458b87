// ServeDiscardTests.swift -- `serve discard` (RFC 863) over real loopback sockets: every byte counted,
// nothing sent back, one line per connection at close, resets and idle clients cost only themselves.
import Foundation
import Glibc
import SocketCore
import Testing

@Suite("serve discard: read, drop, count")
struct ServeDiscardTests {
    /// The "totals" event for the connection from `client`, read from the server's JSON lines.
    private func totals(of client: LoopbackClient, in server: ChildProcess) throws -> [String: Any] {
        try totals(of: [client], in: server)[0]
    }

    /// The "totals" events for the connections from `clients`, in the clients' order, whatever order the
    /// server closed them in.
    private func totals(of clients: [LoopbackClient], in server: ChildProcess) throws -> [[String: Any]] {
        let locals = try clients.map { try $0.socket.localAddress().description }
        var found: [String: [String: Any]] = [:]
        while found.count < Set(locals).count {
            let line = try server.waitForLine(timeout: .seconds(20)) { $0.contains("\"totals\"") }
            let event = try #require(jsonLines(line).first)
            if let peer = event["peer"] as? String, locals.contains(peer) { found[peer] = event }
        }
        return locals.map { found[$0]! }
    }

    @Test(
        "every byte a client sends is counted, none comes back, and the server closes after the client's FIN",
        arguments: [[], ["--copy"]]
    )
    func countsEveryByte(flags: [String]) throws {
        try withServer(["serve", "discard", "127.0.0.1", "0", "--json"] + flags) { server, port in
            let client = try LoopbackClient.connect(port: port)
            let payload = try randomBytes(3 << 20 | 12345)
            try client.send(payload, timeout: .seconds(20))
            try client.shutdownWrite()
            let (answer, end) = client.readToEnd(timeout: .seconds(20))
            #expect(answer.isEmpty, "discard sent \(answer.count) bytes back")
            #expect(end == .eof)
            let event = try totals(of: client, in: server)
            #expect(event["bytes"] as? Int == payload.count)
            #expect((event["reads"] as? Int ?? 0) >= 1)
            #expect((event["seconds"] as? Double ?? -1) >= 0)
            #expect(event["bits_per_second"] is Double || event["bits_per_second"] is Int)
            client.close()
        }
    }

    @Test("connections are counted apart: three clients at once, three totals, each its own size")
    func countsEachConnectionApart() throws {
        try withServer(["serve", "discard", "127.0.0.1", "0", "--json"]) { server, port in
            let sizes = [1, 65536, 1 << 20]
            let clients = try sizes.map { _ in try LoopbackClient.connect(port: port) }
            for (client, size) in zip(clients, sizes) { try client.send(try randomBytes(size), timeout: .seconds(20)) }
            for client in clients { try client.shutdownWrite() }
            let events = try totals(of: clients, in: server)
            #expect(events.map { $0["bytes"] as? Int } == sizes)
            for client in clients { client.close() }
        }
    }

    @Test("the text line: bytes, peer, seconds and bit rate; -v adds the reads")
    func textLine() throws {
        for verbose in [false, true] {
            try withServer(["serve", "discard", "127.0.0.1", "0"] + (verbose ? ["-v"] : [])) { server, port in
                let client = try LoopbackClient.connect(port: port)
                let local = try client.socket.localAddress().description
                try client.send(Array(repeating: 0x61, count: 5000))
                try client.shutdownWrite()
                _ = client.readToEnd(timeout: .seconds(20))
                let line = try server.waitForLine { $0.hasPrefix("Discarded ") }
                #expect(line.hasPrefix("Discarded 5,000 bytes (4.88 KBytes) from \(local) in "), "\(line)")
                #expect(line.contains(" s: ") && line.contains("bits/sec"), "\(line)")
                #expect((line.contains(" reads of ") || line.contains(" read of ")) == verbose, "\(line)")
                let closing = try server.nextLine()
                #expect(closing == "Closing connection to \(local)")
                client.close()
            }
        }
    }

    @Test("a sender that resets mid-stream is counted and logged; the next sender is served")
    func resetCostsOnlyThatSender() throws {
        try withServer(["serve", "discard", "127.0.0.1", "0", "--json"]) { server, port in
            let rude = try LoopbackClient.connect(port: port)
            try rude.send(try randomBytes(100_000))
            // Wait until the server has read it all (nothing left in flight), then reset.
            #expect(try eventually { try rude.socket.outputQueueBytes() == 0 })
            rude.reset()
            let polite = try LoopbackClient.connect(port: port)
            try polite.send(try randomBytes(777))
            try polite.shutdownWrite()
            #expect(try totals(of: polite, in: server)["bytes"] as? Int == 777)
            #expect(waitpid(server.pid, nil, WNOHANG) == 0, "the server is still running")
            polite.close()
        }
    }

    @Test("--idle-timeout closes a sender that goes quiet, and says so")
    func idleTimeout() throws {
        try withServer(["serve", "discard", "127.0.0.1", "0", "--idle-timeout", "0.3"]) { server, port in
            let quiet = try LoopbackClient.connect(port: port)
            try quiet.send([1, 2, 3])
            let (_, end) = quiet.readToEnd(timeout: .seconds(20))
            #expect(end == .eof)
            let line = try server.waitForLine { $0.hasPrefix("Closing idle connection") }
            #expect(line.contains("(no traffic for 0.3 s)"), "\(line)")
            let totals = try server.waitForLine { $0.hasPrefix("Discarded ") }
            #expect(totals.hasPrefix("Discarded 3 bytes from "), "\(totals)")
            quiet.close()
        }
    }

    @Test("--max-conns 1: a second sender waits in the listen queue until the first is done")
    func connectionCap() throws {
        try withServer(["serve", "discard", "127.0.0.1", "0", "--max-conns", "1", "--json"]) { server, port in
            let first = try LoopbackClient.connect(port: port)
            _ = try server.waitForLine { $0.contains("\"accepted\"") }
            let second = try LoopbackClient.connect(port: port)  // the kernel completes the handshake
            try second.send([9, 9])
            try second.shutdownWrite()
            // Not accepted while the first is open: it waits in the kernel's accept queue.
            #expect(try eventually { try ResilienceSockets.acceptQueue(port: port) == 1 })
            try first.shutdownWrite()
            let events = try totals(of: [first, second], in: server)
            #expect(events.map { $0["bytes"] as? Int } == [0, 2])
            first.close()
            second.close()
        }
    }
}
