// ServeMultiTests.swift -- `serve multi` over real loopback sockets: many clients at once, byte-exact echo,
// no CPU when idle, backpressure per connection, and the guide's multiconn transcripts.
import Foundation
import Glibc
import SocketCore
import Testing

@Suite("serve multi: the guide's multiconn-server.py on the event loop")
struct ServeMultiTests {
    // MARK: - 100 clients, 1 MiB each

    @Test("connect --conns 100 --bytes 1048576: every byte comes back")
    func hundredConnectClients() throws {
        try withServer(["serve", "multi", "127.0.0.1", "0", "-q"]) { server, port in
            let result = try ChildProcess.sockettool(
                ["connect", "127.0.0.1", String(port), "--conns", "100", "--bytes", "1048576", "--json"],
                timeout: .seconds(60)
            )
            #expect(result.status == 0, "\(result.stderr)")
            let summary = try #require(
                jsonLines(result.stdout).last { $0["event"] as? String == "summary" },
                "no summary event in:\n\(result.stdout)"
            )
            #expect(summary["connections"] as? Int == 100)
            #expect(summary["failed_connections"] as? Int == 0)
            #expect(summary["bytes_sent"] as? Int == 100 << 20)
            #expect(summary["bytes_received"] as? Int == 100 << 20)
            #expect(waitpid(server.pid, nil, WNOHANG) == 0, "the server is still running")
        }
    }

    @Test("100 in-test clients at once, 1 MiB of random bytes each, echoed byte for byte")
    func hundredIndependentClients() throws {
        try withServer(["serve", "multi", "127.0.0.1", "0", "-q"]) { server, port in
            let payloads = try (0..<100).map { _ in try randomBytes(1 << 20) }
            let clients = try payloads.indices.map { _ in try LoopbackClient.connect(port: port) }
            let failures = try echoAll(clients, payloads, deadline: .seconds(45))
            #expect(failures.isEmpty, "\(failures.prefix(5))")
            #expect(waitpid(server.pid, nil, WNOHANG) == 0, "the server is still running")
        }
    }

    // MARK: - Idle CPU

    @Test("an idle serve multi holding 100 open connections uses (near) zero CPU over 2 s")
    func idleServerUsesNoCPU() throws {
        try withServer(["serve", "multi", "127.0.0.1", "0", "-q"]) { server, port in
            let clients = try (0..<100).map { _ in try LoopbackClient.connect(port: port) }
            // One round trip each: every connection is accepted and registered before measuring.
            for (index, client) in clients.enumerated() {
                try client.send([UInt8(index)])
                #expect(try client.readExactly(1) == [UInt8(index)])
            }
            let before = try ProcessProbe.cpuTicks(server.pid)
            var none = pollfd(fd: -1, events: 0, revents: 0)
            _ = poll(&none, 0, 2000)  // the measurement window itself
            let after = try ProcessProbe.cpuTicks(server.pid)
            let ticksPerSecond = sysconf(Int32(_SC_CLK_TCK))
            #expect(after - before < 5, "\(after - before) ticks of CPU in 2 s idle (\(ticksPerSecond) ticks/s)")
            // The connections are still served after the quiet spell.
            for client in clients {
                try client.send(Array("still there".utf8))
                #expect(try client.readExactly(11) == Array("still there".utf8))
            }
        }
    }

    // MARK: - Backpressure

    @Test("a client that sends and never reads stops being read; another client is still served meanwhile")
    func backpressurePerConnection() throws {
        try withServer(["serve", "multi", "127.0.0.1", "0", "-q", "--max-pending", "65536"]) { server, port in
            let rssBefore = try ProcessProbe.residentKiB(server.pid)
            let greedy = try LoopbackClient.connect(port: port, receiveBuffer: 65536, sendBuffer: 65536)
            // Fill: write until the kernel has had no room for half a second. A server that kept reading
            // (and queueing the echo in memory) would let this go on forever: cap it.
            let chunk = try PatternBytes.chunk(size: 1 << 16)
            var sent = 0
            let cap = 48 << 20
            while sent < cap {
                let written = try chunk.withUnsafeBytes { whole in
                    try greedy.sendWhatFits(UnsafeRawBufferPointer(rebasing: whole[(sent % chunk.count)...]))
                }
                sent += written
                if written == 0, try greedy.socket.wait(for: .writable, timeout: .milliseconds(500)) == .timedOut {
                    break
                }
            }
            #expect(sent < cap, "the server read \(sent) bytes from a client that reads nothing")
            // Another client is served meanwhile. Each of its exchanges is a turn of the server's loop, which
            // would also read the greedy client if it still watched it (poll and epoll are level-triggered).
            func politeExchange() throws {
                let polite = try LoopbackClient.connect(port: port)
                defer { polite.close() }
                let message = try randomBytes(4096)
                try polite.send(message)
                #expect(try polite.readExactly(message.count) == message)
            }
            // The server stopped reading: bytes wait unread on its side and in the client's own Send-Q, and a
            // polite exchange leaves them where they are.
            var held = try Self.backlog(greedy, port: port)
            let settled = try eventually {
                let before = try Self.backlog(greedy, port: port)
                try politeExchange()
                held = try Self.backlog(greedy, port: port)
                return held == before && held.serverUnread > 0 && held.clientUnsent > 0
            }
            try #require(settled, "the server kept reading the greedy client: \(held)")
            try politeExchange()
            #expect(try Self.backlog(greedy, port: port) == held, "the greedy client was read meanwhile")
            if ProcessProbe.memoryFiguresAreMeaningful {
                let rssGrowth = try ProcessProbe.residentKiB(server.pid) - rssBefore
                #expect(rssGrowth < 16 << 10, "server RSS grew by \(rssGrowth) KiB while holding back one client")
            }

            // Once it reads, everything it sent comes back, in order.
            try greedy.shutdownWrite()
            var received = 0
            var mismatch: Int?
            while received < sent {
                let part = try greedy.readSome()
                if part.isEmpty { break }
                if mismatch == nil, let offset = PatternBytes.firstMismatch(part, at: received, in: chunk) {
                    mismatch = offset
                }
                received += part.count
            }
            #expect(received == sent)
            #expect(mismatch == nil, "echo differs at byte \(mismatch ?? -1)")
            #expect(greedy.readToEnd().end == .eof)
        }
    }

    /// What waits between the greedy client and the server: unread in the server's receive queue (ss), and
    /// unsent in the client's send queue.
    private static func backlog(
        _ client: LoopbackClient,
        port: UInt16
    ) throws -> (
        serverUnread: Int, clientUnsent: Int
    ) {
        let side = try ResilienceSockets.serverSide(port: port, client: client.boundPort)
        return (side?.receiveQueue ?? 0, try client.socket.outputQueueBytes())
    }

    // MARK: - Resets, idle timeout

    @Test("a client that resets costs only its own connection")
    func resetClientDoesNotKillServer() throws {
        try withServer(["serve", "multi", "127.0.0.1", "0", "-q"]) { server, port in
            let other = try LoopbackClient.connect(port: port)
            for _ in 0..<3 {
                let rude = try LoopbackClient.connect(port: port)
                try rude.send(try randomBytes(200_000))
                rude.reset()
            }
            try other.send(Array("after the resets".utf8))
            #expect(try other.readExactly(16) == Array("after the resets".utf8))
            let fresh = try LoopbackClient.connect(port: port)
            try fresh.send(Array("new".utf8))
            #expect(try fresh.readExactly(3) == Array("new".utf8))
            #expect(waitpid(server.pid, nil, WNOHANG) == 0, "the server exited")
        }
    }

    @Test("--idle-timeout closes a silent connection at its deadline, not before")
    func idleTimeoutClosesSilentConnection() throws {
        try withServer(["serve", "multi", "127.0.0.1", "0", "--idle-timeout", "0.5"]) { server, port in
            let client = try LoopbackClient.connect(port: port)
            let connected = ContinuousClock.now
            let (bytes, end) = client.readToEnd()
            let elapsed = ContinuousClock.now - connected
            #expect(bytes.isEmpty)
            #expect(end == .eof)
            #expect(elapsed >= .milliseconds(450), "closed after \(elapsed)")
            // That it was this timeout, not the default of 300 s, the line says.
            let line = try server.waitForLine { $0.hasPrefix("Closing idle connection to 127.0.0.1:") }
            #expect(line.hasSuffix("(no traffic for 0.5 s)"), "\(line)")
        }
    }

    @Test("--max-conns 2: a third client waits in the listen queue until a slot frees up")
    func maxConnectionsQueuesTheRest() throws {
        try withServer(["serve", "multi", "127.0.0.1", "0", "-q", "--max-conns", "2"]) { _, port in
            let first = try LoopbackClient.connect(port: port)
            let second = try LoopbackClient.connect(port: port)
            for client in [first, second] {
                try client.send(Array("in".utf8))
                #expect(try client.readExactly(2) == Array("in".utf8))
            }
            // The kernel completes the third handshake; the connection waits in the accept queue, unaccepted.
            let third = try LoopbackClient.connect(port: port)
            try third.send(Array("waiting".utf8))
            let queued = try eventually { try ResilienceSockets.acceptQueue(port: port) == 1 }
            #expect(queued, "the third client is not waiting in the accept queue")
            #expect(third.endedNow().data.isEmpty, "echoed before a slot was free")
            first.close()
            #expect(try third.readExactly(7) == Array("waiting".utf8))
        }
    }

    // MARK: - The guide's transcripts

    @Test("the guide peer's multiconn-client gets every byte back; the server prints the guide's events")
    func guidePeerMulticonnClient() throws {
        try withServer(["serve", "multi", "127.0.0.1", "0"]) { server, port in
            let peer = try GuidePeer.run(["multiconn-client", "127.0.0.1", String(port), "2"])
            #expect(peer.status == 0, "\(peer.lines.joined(separator: "\n"))\n\(peer.stderr)")
            #expect(peer.lines.last { !$0.isEmpty } == "TOTAL-RECEIVED 88")

            // Listening, then per peer: Accepted, Echoing (the two messages, in one line or two), Closing.
            let full = "Message 1 from client.Message 2 from client."
            var echoed: [String: String] = [:]
            var accepted: Set<String> = []
            var closed: Set<String> = []
            while closed.count < 2 {
                let line = try server.waitForLine { _ in true }
                if let peer = line.suffixAfter("Accepted connection from ") {
                    #expect(isLoopbackAddress(peer), "\(line)")
                    accepted.insert(peer)
                } else if let match = line.firstMatch(of: /^Echoing b'(.*)' to (127\.0\.0\.1:\d+)$/) {
                    #expect(accepted.contains(String(match.2)), "echo before accept: \(line)")
                    echoed[String(match.2), default: ""] += String(match.1)
                } else if let peer = line.suffixAfter("Closing connection to ") {
                    #expect(echoed[peer] == full, "closed \(peer) after echoing \(echoed[peer] ?? "nothing")")
                    closed.insert(peer)
                } else {
                    Issue.record("a line the guide's server does not print: \(line)")
                }
            }
            #expect(server.stdoutLines.first == "Listening on 127.0.0.1:\(port)")
            #expect(accepted == closed)
        }
    }

    @Test("connect --conns prints multiconn-client.py's events, like the guide peer's client", arguments: [2, 5])
    func connectMultiTranscriptShape(connections: Int) throws {
        try withServer(["serve", "multi", "127.0.0.1", "0", "-q"]) { _, port in
            let ours = try ChildProcess.sockettool([
                "connect", "127.0.0.1", String(port), "--conns", String(connections),
            ])
            #expect(ours.status == 0, "\(ours.stderr)")
            let peer = try GuidePeer.run(["multiconn-client", "127.0.0.1", String(port), String(connections)])
            #expect(peer.status == 0)

            let oursLines = ours.stdout.split(separator: "\n").map(String.init)
            let peerLines = peer.lines.filter { !$0.isEmpty && !$0.hasPrefix("TOTAL-RECEIVED") }
            let oursShape = try MulticonnTranscript(oursLines, port: port)
            let peerShape = try MulticonnTranscript(peerLines, port: port)
            #expect(oursShape == peerShape)
            #expect(oursShape.connections == connections)
            // The starting lines come first, in order, as in the guide.
            #expect(
                oursLines.prefix(connections)
                    == ArraySlice((1...connections).map { "Starting connection \($0) to 127.0.0.1:\(port)" })
            )
            #expect(ours.stderr.contains("over \(connections) connections"), "\(ours.stderr)")
        }
    }
}

// MARK: - Helpers

/// Echoes every payload through its own client at once on one poll() loop, checking each chunk as it
/// arrives and that each connection ends (FIN) right after its last byte.
/// - Returns: One line per failed connection.
private func echoAll(_ clients: [LoopbackClient], _ payloads: [[UInt8]], deadline: Duration) throws -> [String] {
    var sentOffsets = [Int](repeating: 0, count: clients.count)
    var receivedOffsets = [Int](repeating: 0, count: clients.count)
    var finished = [Bool](repeating: false, count: clients.count)
    var failures: [String] = []
    let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: 1 << 18, alignment: 16)
    defer { buffer.deallocate() }
    let end = ContinuousClock.now + deadline

    func fail(_ index: Int, _ text: String) {
        failures.append("client \(index): \(text)")
        finished[index] = true
        clients[index].close()
    }

    while finished.contains(false) {
        guard ContinuousClock.now < end else {
            for index in clients.indices where !finished[index] {
                fail(index, "timed out: sent \(sentOffsets[index]), received \(receivedOffsets[index])")
            }
            break
        }
        var entries: [pollfd] = []
        var owners: [Int] = []
        for index in clients.indices where !finished[index] {
            var events = Int16(POLLIN)
            if sentOffsets[index] < payloads[index].count { events |= Int16(POLLOUT) }
            entries.append(pollfd(fd: clients[index].socket.descriptor, events: events, revents: 0))
            owners.append(index)
        }
        guard poll(&entries, nfds_t(entries.count), 1000) >= 0 || errno == EINTR else {
            throw LoopbackFailure("poll: \(errno)")
        }
        for (slot, entry) in entries.enumerated() where entry.revents != 0 {
            let index = owners[slot]
            let socket = clients[index].socket
            let payload = payloads[index]
            do {
                if entry.revents & Int16(POLLOUT) != 0 && sentOffsets[index] < payload.count {
                    let written = try payload.withUnsafeBytes { whole in
                        let end = min(payload.count, sentOffsets[index] + (1 << 18))
                        return try socket.write(UnsafeRawBufferPointer(rebasing: whole[sentOffsets[index]..<end]))
                    }
                    if case .processed(let count) = written { sentOffsets[index] += count }
                    if sentOffsets[index] == payload.count { try socket.shutdown(.write) }
                }
                guard entry.revents & Int16(POLLIN | POLLHUP | POLLERR) != 0 else { continue }
                guard case .processed(let count) = try socket.read(into: buffer) else { continue }
                if count == 0 {
                    if receivedOffsets[index] == payload.count {
                        finished[index] = true
                        clients[index].close()
                    } else {
                        fail(index, "EOF after \(receivedOffsets[index]) of \(payload.count) bytes")
                    }
                    continue
                }
                let offset = receivedOffsets[index]
                guard offset + count <= payload.count else {
                    fail(index, "received \(offset + count) bytes, more than the \(payload.count) sent")
                    continue
                }
                let same = payload.withUnsafeBytes { memcmp($0.baseAddress! + offset, buffer.baseAddress!, count) == 0 }
                guard same else {
                    fail(index, "echo differs within bytes \(offset)..<\(offset + count)")
                    continue
                }
                receivedOffsets[index] += count
            } catch {
                fail(index, "\(error)")
            }
        }
    }
    return failures
}

/// A reproducible, non-repeating-looking byte stream: 64 KiB of random bytes, sent over and over
/// starting at the running offset (so byte i is chunk[i % chunk.count]).
private enum PatternBytes {
    static func chunk(size: Int) throws -> [UInt8] {
        try randomBytes(size)
    }

    /// The first offset of `part` (which starts at stream offset `start`) that is not the pattern.
    static func firstMismatch(_ part: [UInt8], at start: Int, in chunk: [UInt8]) -> Int? {
        for (index, byte) in part.enumerated() where byte != chunk[(start + index) % chunk.count] {
            return start + index
        }
        return nil
    }
}

/// What a multiconn client did per connection, with the order of lines across connections ignored:
/// the messages it sent, in order; everything it received, joined; and that "Closing connection N" was
/// its last line.
private struct MulticonnTranscript: Equatable {
    var sent: [Int: [String]] = [:]
    var received: [Int: String] = [:]
    var closedLast: [Int: Bool] = [:]
    var connections = 0

    init(_ lines: [String], port: UInt16) throws {
        var closed: Set<Int> = []
        for line in lines {
            if let match = line.firstMatch(of: /^Starting connection (\d+) to (.+)$/) {
                let target = String(match.2)
                guard target == "127.0.0.1:\(port)" || target == "('127.0.0.1', \(port))" else {
                    throw LoopbackFailure("unexpected address in: \(line)")
                }
                connections += 1
            } else if let match = line.firstMatch(of: /^Sending b'(.*)' to connection (\d+)$/) {
                let id = Int(match.2)!
                if closed.contains(id) { closedLast[id] = false }
                sent[id, default: []].append(String(match.1))
            } else if let match = line.firstMatch(of: /^Received b'(.*)' from connection (\d+)$/) {
                let id = Int(match.2)!
                if closed.contains(id) { closedLast[id] = false }
                received[id, default: ""] += String(match.1)
            } else if let match = line.firstMatch(of: /^Closing connection (\d+)$/) {
                let id = Int(match.1)!
                closedLast[id] = !closed.contains(id)
                closed.insert(id)
            } else {
                throw LoopbackFailure("a line multiconn-client.py does not print: \(line)")
            }
        }
    }
}
