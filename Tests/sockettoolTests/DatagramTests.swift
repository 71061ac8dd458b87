// DatagramTests.swift -- UDP over loopback: `serve echo --udp` (one recvfrom and one sendto per datagram,
// boundaries kept, --json events) and `connect --udp` (each message one datagram, every echo matched, lost
// datagrams reported after --timeout, an ICMP port unreachable reported as refused),
// and the real nc -u and socat as peers. The UDP relay (-m -, listen --udp): DatagramRelayTests.
import Foundation
import Glibc
import SocketCore
import TestSupport
import Testing

@Suite("UDP: serve echo --udp and connect --udp over loopback")
struct DatagramTests {
    /// `serve echo --udp` on a free loopback port, and that port.
    private func startServer(_ extra: [String] = []) throws -> (ChildProcess, UInt16) {
        let server = try ChildProcess(sockettool: ["serve", "echo", "--udp", "127.0.0.1", "0"] + extra)
        return (server, try server.listeningPort())
    }

    @Test("connect --udp -m one -m two -m one: three datagrams, three echoes matched, exit 0")
    func echoMessages() throws {
        let (server, port) = try startServer()
        let run = try runSockettool([
            "connect", "--udp", "127.0.0.1", String(port), "-m", "one", "-m", "two", "-m", "one",
        ])
        #expect(run.status == 0, "\(run.transcript)")
        #expect(
            run.stdoutLines == [
                "Received b'one' (datagram 1 of 3)", "Received b'two' (datagram 2 of 3)",
                "Received b'one' (datagram 3 of 3)",
            ],
            "\(run.transcript)"
        )
        #expect(run.stderr.hasPrefix("3 datagrams sent, 3 echoed, 0 lost, 0 reordered in "), "\(run.transcript)")
        server.send(SIGTERM)
        #expect(try server.waitForExit() == 0)
        let lines = server.stdoutLines + (try server.remainingLines())
        #expect(lines.filter { $0.hasPrefix("Echoing b'one' to 127.0.0.1:") }.count == 2, "\(lines)")
    }

    @Test("the server keeps boundaries: two datagrams sent back to back come back as two, byte for byte")
    func boundariesKept() throws {
        let (server, port) = try startServer(["--json"])
        let client = try DatagramSocket(family: AF_INET)
        defer { client.close() }
        let peer = SocketAddress(ipv4: "127.0.0.1", port: port)!
        try client.connect(to: peer)
        let datagrams: [[UInt8]] = [Array("first".utf8), Array(repeating: 0xAB, count: 60000)]
        for datagram in datagrams {
            #expect(try datagram.withUnsafeBytes { try client.send($0, to: peer) })
        }
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: DatagramSocket.maximumPayload, alignment: 16)
        defer { buffer.deallocate() }
        for datagram in datagrams {
            let deadline = Wait.deadline(after: TestDeadline.generous)
            try #require(try Wait.until(deadline, client.descriptor, .readable), "no echo")
            let (length, sender) = try #require(try client.receive(into: buffer))
            #expect(sender == peer)
            #expect(Array(buffer[0..<length]) == datagram)
        }
        server.send(SIGTERM)
        #expect(try server.waitForExit() == 0)
        let events = (server.stdoutLines + (try server.remainingLines())).compactMap { line in
            try? JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any]
        }
        #expect(events.first?["event"] as? String == "listening")
        #expect(events.filter { $0["event"] as? String == "received" }.map { $0["bytes"] as? Int } == [5, 60000])
    }

    @Test("a peer that never answers: the datagram is reported lost after --timeout, exit 75")
    func lost() throws {
        // Bound, never read: the kernel queues the datagram, so no ICMP "port unreachable" comes back.
        let silent = try DatagramSocket.bound(to: SocketAddress(ipv4: "127.0.0.1", port: 0)!)
        defer { silent.close() }
        let port = try silent.localAddress().port
        let run = try runSockettool(["connect", "--udp", "127.0.0.1", String(port), "--timeout", "0.5", "--json"])
        #expect(run.status == 75, "\(run.transcript)")
        let error = try #require(run.stdoutLines.last)
        #expect(error.contains("\"error\"") && error.contains("lost"), "\(run.transcript)")
    }

    @Test("nothing bound there: the ICMP port unreachable is 'refused' on that address, exit 69")
    func refused() throws {
        // A port just released: nobody else binds a random UDP port on loopback in these milliseconds.
        let probe = try DatagramSocket.bound(to: SocketAddress(ipv4: "127.0.0.1", port: 0)!)
        let port = try probe.localAddress().port
        probe.close()
        let run = try runSockettool(["connect", "--udp", "127.0.0.1", String(port)])
        #expect(run.status == 69, "\(run.transcript)")
        #expect(run.stderr.contains("error: recvfrom(127.0.0.1:\(port)): Connection refused"), "\(run.transcript)")
        #expect(run.stderr.contains("hint: nothing is listening on 127.0.0.1:\(port): "), "\(run.transcript)")
        #expect(!run.stderr.contains(" on:"), "\(run.transcript)")
    }

    @Test("SIGUSR1: one stats line (datagrams and bytes in and out, uptime), the server goes on, SIGTERM exits 0")
    func statsOnUser1() throws {
        let (server, port) = try startServer()
        let first = try runSockettool(["connect", "--udp", "127.0.0.1", String(port), "-m", "one"])
        #expect(first.status == 0, "\(first.transcript)")
        server.send(SIGUSR1)
        let stats = try server.waitForLine { $0.hasPrefix("Stats: ") }
        #expect(
            stats.hasPrefix("Stats: 1 datagrams in, 1 datagrams out, 0 dropped, 3 bytes in, 3 bytes out, up "),
            "\(stats)"
        )
        let second = try runSockettool(["connect", "--udp", "127.0.0.1", String(port), "-m", "two"])
        #expect(
            second.status == 0 && second.stdoutLines == ["Received b'two' (datagram 1 of 1)"],
            "\(second.transcript)"
        )
        server.send(SIGTERM)
        #expect(try server.waitForExit() == 0, "\(server.transcript)")
        let lines = server.stdoutLines + (try server.remainingLines())
        #expect(lines.filter { $0.hasPrefix("Stats: ") }.count == 1, "\(lines)")
    }

    @Test("--stats-interval: the stats line comes by itself, again and again, and counts what was echoed")
    func periodicStats() throws {
        let (server, port) = try startServer(["--stats-interval", "0.2"])
        _ = try server.waitForLine { $0.hasPrefix("Stats: 0 datagrams in, 0 datagrams out, ") }
        let run = try runSockettool(["connect", "--udp", "127.0.0.1", String(port), "-m", "five"])
        #expect(run.status == 0, "\(run.transcript)")
        // Two lines after the echo: the timer goes on firing, it did not stop after its first line.
        for _ in 0..<2 {
            let stats = try server.waitForLine { $0.hasPrefix("Stats: 1 datagrams in, ") }
            #expect(stats.hasPrefix("Stats: 1 datagrams in, 1 datagrams out, 0 dropped, 4 bytes in, 4 bytes out"))
        }
        server.send(SIGTERM)
        #expect(try server.waitForExit() == 0, "\(server.transcript)")
    }

    @Test("SIGUSR1 with --json: a 'stats' event with the datagram counters")
    func statsEventInJSON() throws {
        let (server, port) = try startServer(["--json"])
        let run = try runSockettool(["connect", "--udp", "127.0.0.1", String(port), "-m", "four"])
        #expect(run.status == 0, "\(run.transcript)")
        server.send(SIGUSR1)
        let line = try server.waitForLine { $0.contains(#""event": "stats""#) }
        let object = try #require(try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any])
        #expect(object["datagrams_in"] as? Int == 1 && object["datagrams_out"] as? Int == 1, "\(line)")
        #expect(object["bytes_in"] as? Int == 4 && object["bytes_out"] as? Int == 4, "\(line)")
        #expect(object["uptime_s"] is Double, "\(line)")
        server.send(SIGTERM)
        #expect(try server.waitForExit() == 0, "\(server.transcript)")
    }

    @Test(
        "the real nc -u talks to serve echo --udp: its line comes back",
        .enabled(if: NetcatTools.ncIsOpenBSD, "needs OpenBSD nc")
    )
    func ncClient() throws {
        let (server, port) = try startServer()
        // -w 1: nc -u has no end of its own; it quits after 1 s without traffic once stdin has ended.
        let run = try ChildProcess.run(NetcatTools.nc!, ["-u", "-w", "1", "127.0.0.1", String(port)], input: "hi\n")
        #expect(run.stdout == "hi", "\(run)")
        server.send(SIGTERM)
        _ = try server.waitForExit()
    }

    @Test(
        "connect --udp against socat's UDP echo (UDP-LISTEN to PIPE): the datagram comes back",
        .enabled(if: NetcatTools.socat != nil, "needs socat")
    )
    func socatServer() throws {
        // One message: socat's PIPE is a byte stream, so two datagrams that arrive together come back as
        // one ('abb'), which connect --udp rightly reports as unexpected and lost.
        let socat = try shell("exec socat -d -d UDP-LISTEN:0,bind=127.0.0.1 PIPE </dev/null")
        let port = try socat.waitForStderr { line in
            line.contains("listening on") ? UInt16(line.split(separator: ":").last ?? "") : nil
        }
        let run = try runSockettool(["connect", "--udp", "127.0.0.1", String(port), "-m", "bb"])
        #expect(run.status == 0, "\(run.transcript)\nsocat: \(socat.transcript)")
        #expect(run.stdoutLines == ["Received b'bb' (datagram 1 of 1)"])
        socat.send(SIGTERM)
        _ = try socat.waitForExit()
    }

    @Test("--udp refuses what has no datagram meaning: --conns, --bytes, --duration (exit 64)")
    func usage() throws {
        for extra in [["--conns", "2"], ["--bytes", "10"], ["--duration", "1"]] {
            let run = try runSockettool(["connect", "--udp", "127.0.0.1", "9"] + extra)
            #expect(run.status == 64, "\(extra): \(run.transcript)")
        }
    }

    @Test("under a service manager: READY=1 with the UDP address and STOPPING=1; a passed socket is refused (73)")
    func serviceManager() throws {
        let receiver = try NotifyReceiver()
        let server = try ChildProcess(
            sockettool: ["serve", "echo", "--udp", "127.0.0.1", "0"],
            environment: ["NOTIFY_SOCKET": receiver.address]
        )
        let port = try server.listeningPort()
        var seen: [String] = []
        let ready = receiver.next(startingWith: "READY=1", timeout: TestDeadline.generous, seen: &seen)
        #expect(ready == "READY=1\nSTATUS=Listening on 127.0.0.1:\(port) (UDP)", "\(seen)")
        server.send(SIGTERM)
        #expect(try server.waitForExit() == 0)
        #expect(
            receiver.next(startingWith: "STOPPING=1", timeout: TestDeadline.generous, seen: &seen) != nil,
            "\(seen)"
        )

        let listener = try LoopbackListener()
        defer { listener.socket.close() }
        let activated = try ChildProcess(
            "/bin/sh",
            [
                "-c", "LISTEN_PID=$$ LISTEN_FDS=1 exec \"$0\" \"$@\"", ChildProcess.sockettool, "serve", "echo",
                "--udp",
            ],
            passing: [listener.socket.descriptor]
        )
        #expect(try activated.waitForExit() == 73, "\(activated.transcript)")
        #expect(activated.stderrText.contains("cannot serve a passed one"), "\(activated.transcript)")
    }
}
