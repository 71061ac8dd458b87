// DatagramRelayTests.swift -- the UDP relay over loopback: `connect --udp HOST PORT -m -` (nc -u) and
// `listen --udp` (nc -u -l), against our own serve echo --udp, the real nc -u and socat's UDP, both
// directions, bytes compared. UDP has no end of stream: each session here is ended by SIGINT once the
// bytes it was waiting for have arrived (a clean end: exit 0 and the summary), or by --timeout's quiet.
import Foundation
import Glibc
import SocketCore
import Testing

@Suite("UDP relay: connect --udp -m - and listen --udp over loopback")
struct DatagramRelayTests {
    /// `serve echo --udp` on a free loopback port, and that port.
    private func startEchoServer() throws -> (ChildProcess, UInt16) {
        let server = try ChildProcess(sockettool: ["serve", "echo", "--udp", "127.0.0.1", "0"])
        return (server, try server.listeningPort())
    }

    /// `listen --udp` on a free loopback port, and that port (the listening line is on stderr).
    private func startListener(_ extra: [String] = []) throws -> (ChildProcess, UInt16) {
        let listener = try ChildProcess(sockettool: ["listen", "--udp", "127.0.0.1", "0"] + extra)
        return (listener, try listener.stderrListeningPort())
    }

    /// One line from `ours` (sockettool) to `peer` (nc or socat) and one back, each printed by the other,
    /// then the session ended: SIGINT for ours (exit 0 and its summary), SIGTERM for the peer.
    private func exchangeLines(
        _ ours: ChildProcess,
        _ oursSays: String,
        with peer: ChildProcess,
        _ peerSays: String,
        oursFirst: Bool
    ) throws {
        let (first, firstSays, second, secondSays) =
            oursFirst ? (ours, oursSays, peer, peerSays) : (peer, peerSays, ours, oursSays)
        try first.feed(firstSays + "\n", timeout: TestDeadline.generous)
        #expect(try second.nextLine() == firstSays, "\(second.transcript)")
        try second.feed(secondSays + "\n", timeout: TestDeadline.generous)
        #expect(try first.nextLine() == secondSays, "\(first.transcript)")
        try interrupt(ours)
        peer.send(SIGTERM)
        _ = try peer.waitForExit()
    }

    /// Sends SIGINT, the normal end of a UDP session with no --timeout: exit 0 and the summary.
    private func interrupt(_ child: ChildProcess) throws {
        child.closeInput()
        child.send(SIGINT)
        #expect(try child.waitForExit() == 0, "\(child.transcript)")
        let stderr = child.stderrText
        #expect(stderr.contains("Sent ") || stderr.contains("\"event\": \"summary\""), "\(child.transcript)")
    }

    @Test("connect --udp -m - to serve echo --udp: each stdin line goes out and its echo comes to stdout")
    func relayToEchoServer() throws {
        let (server, port) = try startEchoServer()
        let client = try ChildProcess(sockettool: ["connect", "--udp", "127.0.0.1", String(port), "-m", "-", "-v"])
        for line in ["first datagram", "second datagram"] {
            try client.feed(line + "\n", timeout: TestDeadline.generous)
            #expect(try client.nextLine() == line, "\(client.transcript)")
        }
        try interrupt(client)
        #expect(client.stderrText.contains("Sending datagrams to 127.0.0.1:\(port)"), "\(client.transcript)")
        server.send(SIGTERM)
        _ = try server.waitForExit()
    }

    @Test("a file on stdin: 150,000 bytes go out in datagrams of at most 65,507 and all come back; --timeout ends it")
    func fileThroughEchoServer() throws {
        let (server, port) = try startEchoServer()
        let scratch = try ScratchDirectory()
        let input = Array(PayloadPattern().stream(0, count: 150_000))
        try #require(FileManager.default.createFile(atPath: scratch.file("in"), contents: Data(input)))
        // --timeout: the session ends once nothing moved for that long (nc -u -w); generous, as the echo
        // of the last datagram must come back within it on a loaded machine.
        let run = try shell(
            "exec \"$0\" connect --udp 127.0.0.1 \(port) -m - --timeout 3 --json <\(scratch.file("in")) "
                + ">\(scratch.file("out"))"
        )
        #expect(try run.waitForExit(timeout: TestDeadline.generous) == 0, "\(run.transcript)")
        let output = try #require(FileManager.default.contents(atPath: scratch.file("out")))
        #expect(Array(output) == input, "\(output.count) of \(input.count) bytes back")
        let summary = try #require(run.stderrText.split(separator: "\n").last { $0.contains("\"summary\"") })
        #expect(summary.contains("\"bytes_sent\": 150000") && summary.contains("\"bytes_received\": 150000"))
        server.send(SIGTERM)
        #expect(try server.waitForExit() == 0)
        let echoes = (server.stdoutLines + (try server.remainingLines())).filter { $0.hasPrefix("Echoing ") }
        #expect(echoes.count == 3, "150,000 bytes in 65,507-byte datagrams: \(echoes.count)")
    }

    @Test("listen --udp: the first sender is the peer; its datagrams to stdout, stdin back to it; -x dumps both")
    func listenWithOwnClient() throws {
        let (listener, port) = try startListener(["-x"])
        let peer = SocketAddress(ipv4: "127.0.0.1", port: port)!
        let client = try DatagramSocket.bound(to: SocketAddress(ipv4: "127.0.0.1", port: 0)!)
        defer { client.close() }
        let clientAddress = try client.localAddress()
        #expect(try Array("ping\n".utf8).withUnsafeBytes { try client.send($0, to: peer) })
        #expect(try listener.nextLine() == "ping", "\(listener.transcript)")
        try listener.feed("pong\n", timeout: TestDeadline.generous)
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: 65536, alignment: 16)
        defer { buffer.deallocate() }
        try #require(try Wait.until(Wait.deadline(after: TestDeadline.generous), client.descriptor, .readable))
        let (length, sender) = try #require(try client.receive(into: buffer))
        #expect(sender == peer)
        #expect(Array(buffer[0..<length]) == Array("pong\n".utf8))
        try interrupt(listener)
        let stderr = listener.stderrText
        #expect(stderr.contains("Datagram from \(clientAddress)"), "\(stderr)")
        #expect(stderr.contains("received 5 bytes from \(clientAddress)"), "\(stderr)")
        #expect(stderr.contains("sent 5 bytes to \(clientAddress)"), "\(stderr)")
        #expect(stderr.contains("70 69 6e 67 0a"), "the received datagram in hex: \(stderr)")
        #expect(stderr.contains("70 6f 6e 67 0a"), "the sent datagram in hex: \(stderr)")
    }

    @Test("listen --udp --json -x: listening, peer, a data event per datagram each way, shutdown and summary")
    func jsonEvents() throws {
        let (listener, port) = try startListener(["--json", "-x"])
        let peer = SocketAddress(ipv4: "127.0.0.1", port: port)!
        let client = try DatagramSocket.bound(to: SocketAddress(ipv4: "127.0.0.1", port: 0)!)
        defer { client.close() }
        #expect(try Array("hi\n".utf8).withUnsafeBytes { try client.send($0, to: peer) })
        #expect(try listener.nextLine() == "hi", "\(listener.transcript)")
        try listener.feed("ok\n", timeout: TestDeadline.generous)
        try #require(try Wait.until(Wait.deadline(after: TestDeadline.generous), client.descriptor, .readable))
        try interrupt(listener)
        let events = listener.stderrText.split(separator: "\n").compactMap { line in
            try? JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any]
        }
        let kinds = events.compactMap { $0["event"] as? String }
        #expect(kinds == ["listening", "peer", "data", "data", "shutdown", "summary"], "\(listener.transcript)")
        let data = events.filter { $0["event"] as? String == "data" }
        #expect(data.map { $0["direction"] as? String } == ["received", "sent"], "\(data)")
        #expect(data.map { $0["hex"] as? String } == ["68690a", "6f6b0a"], "\(data)")
        let summary = try #require(events.last)
        #expect(summary["bytes_received"] as? Int == 3 && summary["bytes_sent"] as? Int == 3, "\(summary)")
    }

    @Test("listen --udp is connected to its first sender: another sender is not heard; with -k it is")
    func connectedUnlessKeep() throws {
        for keep in [false, true] {
            let (listener, port) = try startListener(keep ? ["-k"] : [])
            let peer = SocketAddress(ipv4: "127.0.0.1", port: port)!
            let first = try DatagramSocket.bound(to: SocketAddress(ipv4: "127.0.0.1", port: 0)!)
            let second = try DatagramSocket.bound(to: SocketAddress(ipv4: "127.0.0.1", port: 0)!)
            defer {
                first.close()
                second.close()
            }
            #expect(try Array("one\n".utf8).withUnsafeBytes { try first.send($0, to: peer) })
            #expect(try listener.nextLine() == "one", "\(listener.transcript)")
            #expect(try Array("two\n".utf8).withUnsafeBytes { try second.send($0, to: peer) })
            #expect(try Array("three\n".utf8).withUnsafeBytes { try first.send($0, to: peer) })
            // "three" comes from the first sender, after "two": once it is out, "two" was dropped or shown.
            let next = try listener.nextLine()
            if keep {
                #expect(next == "two", "\(listener.transcript)")
                #expect(try listener.nextLine() == "three", "\(listener.transcript)")
            } else {
                #expect(next == "three", "-k not given: the second sender is not heard. \(listener.transcript)")
            }
            try interrupt(listener)
        }
    }

    @Test("listen --udp --timeout: the session ends after that long without a datagram, exit 0")
    func quietEndsListen() throws {
        let (listener, port) = try startListener(["--timeout", "0.5", "-v"])
        let client = try DatagramSocket.bound(to: SocketAddress(ipv4: "127.0.0.1", port: 0)!)
        defer { client.close() }
        let peer = SocketAddress(ipv4: "127.0.0.1", port: port)!
        #expect(try Array("x\n".utf8).withUnsafeBytes { try client.send($0, to: peer) })
        #expect(try listener.nextLine() == "x")
        #expect(try listener.waitForExit() == 0, "\(listener.transcript)")
        #expect(listener.stderrText.contains("the UDP session ends"), "\(listener.transcript)")
    }

    @Test(
        "nothing listens: the relay reports the ICMP port unreachable as refused, exit 69, and names serve echo --udp"
    )
    func refused() throws {
        let probe = try DatagramSocket.bound(to: SocketAddress(ipv4: "127.0.0.1", port: 0)!)
        let port = try probe.localAddress().port
        probe.close()
        let client = try ChildProcess(sockettool: ["connect", "--udp", "127.0.0.1", String(port), "-m", "-"])
        try client.feed("anyone?\n", timeout: TestDeadline.generous)
        #expect(try client.waitForExit() == 69, "\(client.transcript)")
        #expect(client.stderrText.contains("Connection refused"), "\(client.transcript)")
        #expect(client.stderrText.contains("serve echo --udp 127.0.0.1 \(port)"), "\(client.transcript)")
        #expect(client.stderrText.contains("ss -lun"), "\(client.transcript)")
    }

    // MARK: - The real nc -u and socat

    @Test(
        "the real nc -u sends to listen --udp and gets its stdin back",
        .enabled(if: NetcatTools.ncIsOpenBSD, "needs OpenBSD nc")
    )
    func ncClientToListen() throws {
        let (listener, port) = try startListener()
        let nc = try ChildProcess(NetcatTools.nc!, ["-u", "127.0.0.1", String(port)])
        try exchangeLines(listener, "from sockettool", with: nc, "from nc", oursFirst: false)
    }

    @Test(
        "connect --udp -m - to the real nc -u -l: both directions",
        .enabled(if: NetcatTools.ncIsOpenBSD, "needs OpenBSD nc")
    )
    func connectToNcListener() throws {
        let nc = try ChildProcess(NetcatTools.nc!, ["-u", "-l", "-v", "127.0.0.1", "0"])
        // "Bound on localhost 41457"
        let port = try nc.waitForStderr { line in
            line.hasPrefix("Bound on") ? UInt16(line.split(separator: " ").last ?? "") : nil
        }
        let client = try ChildProcess(sockettool: ["connect", "--udp", "127.0.0.1", String(port), "-m", "-"])
        try exchangeLines(client, "to nc", with: nc, "from nc", oursFirst: true)
    }

    @Test(
        "socat's UDP client sends to listen --udp and gets its stdin back",
        .enabled(if: NetcatTools.socat != nil, "needs socat")
    )
    func socatClientToListen() throws {
        let (listener, port) = try startListener()
        let socat = try ChildProcess(NetcatTools.socat!, ["-", "UDP:127.0.0.1:\(port)"])
        try exchangeLines(listener, "from sockettool", with: socat, "from socat", oursFirst: false)
    }

    @Test(
        "connect --udp -m - to socat UDP-LISTEN with STDIO: both directions",
        .enabled(if: NetcatTools.socat != nil, "needs socat")
    )
    func connectToSocatListener() throws {
        let socat = try ChildProcess(NetcatTools.socat!, ["-d", "-d", "UDP-LISTEN:0,bind=127.0.0.1", "STDIO"])
        let port = try socat.waitForStderr { line in
            line.contains("listening on") ? UInt16(line.split(separator: ":").last ?? "") : nil
        }
        let client = try ChildProcess(sockettool: ["connect", "--udp", "127.0.0.1", String(port), "-m", "-"])
        try exchangeLines(client, "to socat", with: socat, "from socat", oursFirst: true)
    }

    // MARK: - Usage

    @Test("flags UDP has no meaning for are refused, exit 64, naming the flag")
    func usage() throws {
        let cases: [[String]] = [
            ["listen", "--udp", "9000", "--max-conns", "2"],
            ["listen", "--udp", "9000", "--no-shutdown"],
            ["listen", "--udp", "--unix", "/tmp/x.sock"],
            ["connect", "--udp", "127.0.0.1", "9", "-m", "-", "--no-shutdown"],
            ["connect", "--udp", "--unix", "/tmp/x.sock"],
            ["connect", "--udp", "127.0.0.1", "9", "--recv-size", "5"],
            ["connect", "--udp", "127.0.0.1", "9", "-x"],
            ["connect", "--udp", "127.0.0.1", "9", "--connect-timeout", "1"],
            ["serve", "echo", "--udp", "0", "--keep"],
            ["serve", "echo", "--udp", "0", "--idle-timeout", "5"],
            ["serve", "echo", "--udp", "0", "--no-reuseaddr"],
            ["serve", "echo", "--udp", "--unix", "/tmp/x.sock"],
        ]
        for arguments in cases {
            let run = try runSockettool(arguments)
            #expect(run.status == 64, "\(arguments): \(run.transcript)")
            let flag = arguments.last { $0.hasPrefix("-") } ?? ""
            #expect(run.stderr.contains(flag), "\(arguments): \(run.transcript)")
        }
    }
}
