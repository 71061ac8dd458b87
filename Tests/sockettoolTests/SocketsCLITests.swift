// SocketsCLITests.swift -- `sockettool sockets` against the real ss and lsof, on sockets this test opened
// itself in states it can predict: a listener with an accept queue, a connection whose queues are full.
import Foundation
import Glibc
import SocketCore
import Testing

@Suite("sockets: the kernel's tables, as ss and lsof show them")
struct SocketsCLITests {
    static let hasSS = installedTool("ss") != nil
    static let hasLsof = installedTool("lsof") != nil

    /// The JSON "socket" events of one run, by "local foreign"; with `scene`, only its seven sockets (another
    /// process may use the same port number).
    private func socketEvents(_ arguments: [String], of scene: QueueScene? = nil) throws -> [String: [String: Any]] {
        let result = try ChildProcess.sockettool(["sockets", "--json"] + arguments)
        #expect(result.status == 0, "\(result.stderr)")
        var events: [String: [String: Any]] = [:]
        let pairs = scene?.pairs
        for event in jsonLines(result.stdout) where event["event"] as? String == "socket" {
            let key = "\(event["local"] as? String ?? "?") \(event["foreign"] as? String ?? "?")"
            if pairs?.contains(key) ?? true { events[key] = event }
        }
        return events
    }

    @Test(
        "a listener with two connections waiting and a connection with full queues: ss -tan's numbers",
        .enabled(if: hasSS, "ss (iproute2) is not installed")
    )
    func queuesMatchSS() throws {
        let scene = try QueueScene()
        defer { scene.close() }
        let before = try scene.settledSSRows()
        let ours = try socketEvents(["--port", String(scene.port), "--tcp"], of: scene)
        let after = try scene.settledSSRows()
        #expect(before == after, "the sockets moved while sockettool read them")
        // The listener, the accepted connection and two waiting ones, each seen from both ends.
        #expect(before.count == 7, "\(before)")
        #expect(ours.count == before.count, "ours: \(ours.keys.sorted()), ss: \(before)")
        for row in before {
            let event = try #require(ours["\(row.local) \(row.peer)"], "ss lists \(row), sockettool does not")
            #expect(event["state"] as? String == row.netstatState, "\(row)")
            #expect(event["recv_q"] as? Int == row.receiveQueue, "\(row): \(event)")
            #expect(event["send_q"] as? Int == row.sendQueue, "\(row): \(event)")
        }
        // What the scene was built to show: two connections in the accept queue of a backlog of 7, and
        // both queues of the full connection holding bytes.
        let listener = try #require(ours["127.0.0.1:\(scene.port) 0.0.0.0:*"])
        #expect(listener["accept_queue"] as? Int == 2 && listener["backlog"] as? Int == 7, "\(listener)")
        let serverEnd = try #require(ours["\(try scene.server.localAddress()) \(try scene.server.peerAddress())"])
        let clientEnd = try #require(ours["\(try scene.client.localAddress()) \(try scene.client.peerAddress())"])
        #expect((serverEnd["recv_q"] as? Int ?? 0) > 0 && (clientEnd["send_q"] as? Int ?? 0) > 0)
        #expect(serverEnd["recv_q"] as? Int == (try scene.server.inputQueueBytes()))
        #expect(clientEnd["send_q"] as? Int == (try scene.client.outputQueueBytes()))
    }

    @Test(
        "the same sockets: lsof -i -n's COMMAND, PID, USER and FD, and nobody for the connections not yet accepted",
        .enabled(if: hasLsof, "lsof is not installed")
    )
    func ownersMatchLsof() throws {
        let scene = try QueueScene()
        defer { scene.close() }
        // TCP only, and only what this process owns, as lsof is asked: another process on this machine (a
        // parallel test run) may use the same port number for UDP, or as a client's local port.
        let ours = try socketEvents(["--port", String(scene.port), "--tcp"])
        let lsof = try Lsof.rows(["-iTCP:\(scene.port)", "-a", "-p", String(getpid())])
        // Ours: the listener, the accepted server end and the three clients; the two server ends in the
        // accept queue have no descriptor yet.
        #expect(lsof.count == 5, "\(lsof)")
        let owned = ours.values.filter { event in
            ((event["processes"] as? [[String: Any]]) ?? []).contains { $0["pid"] as? Int == Int(getpid()) }
        }
        #expect(owned.count == lsof.count, "\(ours)")
        for row in lsof {
            let key =
                row.name.contains("->") ? row.name.replacingOccurrences(of: "->", with: " ") : "\(row.name) 0.0.0.0:*"
            let event = try #require(ours[key], "lsof lists \(row.name), sockettool does not")
            let process = try #require((event["processes"] as? [[String: Any]])?.first, "\(event)")
            #expect(process["pid"] as? Int == Int(row.pid))
            #expect(process["fd"] as? Int == Int(row.descriptor))
            #expect(process["mode"] as? String == row.access)
            #expect(process["user"] as? String == row.user)
            #expect((process["command"] as? String ?? "").hasPrefix(row.command), "\(process) vs \(row)")
        }
    }

    @Test("the text table: netstat's and lsof's headers, the listener's queues and its owner")
    func textTable() throws {
        let scene = try QueueScene()
        defer { scene.close() }
        let result = try ChildProcess.sockettool(["sockets", "--port", String(scene.port), "--listening"])
        #expect(result.status == 0, "\(result.stderr)")
        let lines = result.stdout.split(separator: "\n").map(String.init)
        #expect(
            lines.first?.split(separator: " ").joined(separator: " ")
                == "Proto Recv-Q Send-Q Local Address Foreign Address State COMMAND PID USER FD"
        )
        let row = try #require(lines.first { $0.hasPrefix("tcp ") && $0.contains(" 127.0.0.1:\(scene.port) ") })
            .split(separator: " ").map(String.init)
        #expect(row.count == 10, "\(row)")
        #expect(Array(row[0..<6]) == ["tcp", "2", "7", "127.0.0.1:\(scene.port)", "0.0.0.0:*", "LISTEN"])
        #expect(row[7] == String(getpid()) && row[9] == "\(scene.listener.descriptor)u")
        #expect(lines.last?.hasPrefix("LISTEN: Recv-Q is the accept queue") == true)
    }

    @Test(
        "-v: rtt, cwnd, mss and byte counts as ss -ti shows them, on an idle connection",
        .enabled(if: hasSS, "ss (iproute2) is not installed")
    )
    func tcpInfoMatchesSS() throws {
        let listener = try LoopbackListener()
        let client = try LoopbackClient.connect(port: listener.port)
        let server = try listener.accept()
        try client.send(Array("Hello, world".utf8))
        _ = try server.readExactly(12)
        try server.send(Array("Hello".utf8))
        _ = try client.readExactly(5)
        let clientPort = try client.socket.localAddress().port
        // Idle now: the numbers only move with traffic.
        let filter = "( sport = :\(clientPort) and dport = :\(listener.port) )"
        let before = try SS.rows(["-ti", filter])
        let ours = try socketEvents(["--port", String(clientPort), "-v"])
        let text = try ChildProcess.sockettool(["sockets", "--port", String(clientPort), "-v"])
        let after = try SS.rows(["-ti", filter])
        let ssRow = try #require(before.first)
        // Idle, only the "milliseconds since" counters move between the readings: both of ours (JSON and
        // text) come between two equal ones.
        let compared = ["cwnd", "mss", "bytes_acked", "bytes_received", "segs_out", "segs_in", "rtt"]
        #expect(
            before.map { $0.info.filter { compared.contains($0.key) } }
                == after.map { $0.info.filter { compared.contains($0.key) } },
            "the connection moved while sockettool read it"
        )
        let event = try #require(ours["127.0.0.1:\(clientPort) 127.0.0.1:\(listener.port)"])
        let info = try #require(event["tcp_info"] as? [String: Any], "\(event)")
        #expect(String(info["cwnd"] as? Int ?? -1) == ssRow.info["cwnd"])
        #expect(String(info["mss"] as? Int ?? -1) == ssRow.info["mss"])
        #expect(String(info["bytes_acked"] as? Int ?? -1) == ssRow.info["bytes_acked"])
        #expect(String(info["bytes_received"] as? Int ?? -1) == ssRow.info["bytes_received"])
        #expect(String(info["segs_out"] as? Int ?? -1) == ssRow.info["segs_out"])
        #expect(String(info["segs_in"] as? Int ?? -1) == ssRow.info["segs_in"])
        // ss prints rtt/rttvar in ms with %g: compare as numbers.
        let rtt = try #require(ssRow.info["rtt"]?.split(separator: "/").compactMap { Double($0) })
        #expect(rtt.count == 2)
        #expect(abs(Double(info["rtt_us"] as? Int ?? -1) / 1000 - rtt[0]) < 0.0011, "\(info) vs \(ssRow.info)")
        #expect(abs(Double(info["rttvar_us"] as? Int ?? -1) / 1000 - rtt[1]) < 0.0011, "\(info) vs \(ssRow.info)")
        #expect(info["congestion"] as? String != nil)

        // --port matches either end: another test's socket can have this number too. Ours is the row with
        // both addresses, and its detail line follows it.
        let textLines = text.stdout.split(separator: "\n")
        let ourRow = try #require(
            textLines.firstIndex {
                $0.contains(" 127.0.0.1:\(clientPort) ") && $0.contains(" 127.0.0.1:\(listener.port) ")
            },
            "\(text.stdout)"
        )
        let detail = try #require(textLines.dropFirst(ourRow + 1).first, "\(text.stdout)")
        #expect(detail.hasPrefix("      rtt "), "\(text.stdout)")
        #expect(detail.contains("cwnd \(ssRow.info["cwnd"] ?? "?")") && detail.contains("retransmits 0/0"), "\(detail)")
        client.close()
        server.close()
    }

    @Test(
        "UDP and Unix sockets: udp and unix rows with ss's numbers",
        .enabled(if: hasSS, "ss (iproute2) is not installed")
    )
    func otherFamiliesMatchSS() throws {
        // A UDP socket holding one unread datagram: its Recv-Q is the buffer memory it takes, not 5 bytes.
        let udp = try UDPPair()
        defer { udp.close() }
        try udp.send("hello")
        var ssUDP: [SSRow] = []
        #expect(
            try eventually {
                ssUDP = try SS.rows(["-ua", "( sport = :\(udp.receiverPort) )"])
                return ssUDP.first.map { $0.receiveQueue > 0 } ?? false
            }
        )
        let udpEvents = try socketEvents(["--port", String(udp.receiverPort), "--udp"])
        let receiver = try #require(udpEvents["127.0.0.1:\(udp.receiverPort) 0.0.0.0:*"], "\(udpEvents)")
        #expect(receiver["proto"] as? String == "udp" && receiver["state"] as? String == "UNCONN")
        #expect(receiver["recv_q"] as? Int == ssUDP.first?.receiveQueue, "\(receiver) vs \(ssUDP)")

        // A Unix listener in a fresh directory.
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent(
            "sockets-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
        )
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let path = directory.appendingPathComponent("app.sock").path
        let unixListener = try UnixListener(path: path, backlog: 5)
        defer { unixListener.close() }
        let ssUnix = try SS.rows(["-xl", "src", path], unixColumns: true)
        let unixResult = try ChildProcess.sockettool(["sockets", "--json", "--unix", "--listening"])
        let unixEvent = try #require(jsonLines(unixResult.stdout).first { $0["local"] as? String == path })
        #expect(unixEvent["proto"] as? String == "unix" && unixEvent["state"] as? String == "LISTEN")
        #expect(unixEvent["backlog"] as? Int == 5 && unixEvent["backlog"] as? Int == ssUnix.first?.sendQueue)
        #expect(((unixEvent["processes"] as? [[String: Any]])?.first?["pid"] as? Int) == Int(getpid()))
    }

    @Test(
        "IPv6: the same scene on ::1, tcp6 rows with ss -6's numbers",
        .enabled(if: hasSS && hasIPv6LoopbackAddress(), "needs ss (iproute2) and an IPv6 loopback address")
    )
    func ipv6MatchesSS() throws {
        let scene = try QueueScene(host: "::1")
        defer { scene.close() }
        let before = try scene.settledSSRows(family: "-6")
        let ours = try socketEvents(["--port", String(scene.port), "-6"], of: scene)
        #expect(ours.count == before.count && before.count == 7, "\(ours.keys) vs \(before)")
        for row in before {
            let event = try #require(ours["\(row.local) \(row.peer)"], "ss lists \(row), sockettool does not")
            #expect(event["proto"] as? String == "tcp6")
            #expect(event["recv_q"] as? Int == row.receiveQueue && event["send_q"] as? Int == row.sendQueue)
        }
        #expect(ours["[::1]:\(scene.port) [::]:*"]?["state"] as? String == "LISTEN")
    }

    @Test("--pid, --state and --listening filter; a state that does not exist is a usage error")
    func filters() throws {
        let scene = try QueueScene()
        defer { scene.close() }
        let port = String(scene.port)
        let mine = try socketEvents(["--port", port, "--pid", String(getpid())], of: scene)
        #expect(mine.count == 5, "the listener, the accepted end and three clients (not the queued ends): \(mine.keys)")
        let listening = try socketEvents(["--port", port, "--listening"], of: scene)
        #expect(Array(listening.keys) == ["127.0.0.1:\(port) 0.0.0.0:*"])
        let established = try socketEvents(["--port", port, "--state", "estab"], of: scene)
        #expect(established.count == 6 && established.values.allSatisfy { $0["state"] as? String == "ESTABLISHED" })
        let both = try socketEvents(["--port", port, "--state", "listen,ESTABLISHED"], of: scene)
        #expect(both.count == 7)
        // ss's names: listening (not listen), fin-wait-1 (not fin-wait1); nothing on the port is closing.
        let ssNames = try socketEvents(["--port", port, "--state", "listening,fin-wait-1"], of: scene)
        #expect(Array(ssNames.keys) == Array(listening.keys))
        let bad = try ChildProcess.sockettool(["sockets", "--state", "resting"])
        #expect(bad.status == 64 && bad.stderr.contains("'resting' is not a socket state"), "\(bad)")
    }

    @Test("--watch on a pipe: a plain snapshot each interval, until SIGINT ends it (exit 0)")
    func watchPrintsSnapshots() throws {
        let scene = try QueueScene()
        defer { scene.close() }
        let child = try ChildProcess(sockettool: ["sockets", "--watch", "0.2", "--port", String(scene.port), "-l"])
        _ = try child.waitForLine { $0.hasPrefix("Snapshot 1, every 0.2 s") }
        _ = try child.waitForLine { $0.hasPrefix("tcp ") && $0.contains("LISTEN") }
        _ = try child.waitForLine { $0.hasPrefix("Snapshot 2, every 0.2 s") }
        child.send(SIGINT)
        #expect(try child.waitForExit() == 0)
        #expect(!child.stdoutLines.joined().contains("\u{1B}"), "no terminal codes on a pipe")
    }

    @Test(
        "as an unprivileged user: the same sockets, without the owners it may not read",
        .enabled(if: ChildProcess.isRoot && installedTool("setpriv") != nil, "needs root and setpriv to become nobody")
    )
    func unprivileged() throws {
        let scene = try QueueScene()
        defer { scene.close() }
        let child = try ChildProcess(unprivilegedSockettool: ["sockets", "--json", "--port", String(scene.port)])
        #expect(try child.waitForExit() == 0, "\(child.stderrText)")
        let pairs = scene.pairs
        let events = jsonLines(try child.remainingLines().joined(separator: "\n")).filter {
            pairs.contains("\($0["local"] as? String ?? "") \($0["foreign"] as? String ?? "")")
        }
        #expect(events.count == 7, "\(events)")
        #expect(events.allSatisfy { ($0["processes"] as? [Any])?.isEmpty == true })
    }
}

/// Two UDP sockets on 127.0.0.1: a receiver that never reads, and a sender.
final class UDPPair {
    private let receiver: CInt
    private let sender: CInt
    let receiverPort: UInt16

    init() throws {
        // Close-on-exec, so no child of a parallel test inherits (and appears to own) them.
        let receiver = socket(AF_INET, CInt(SOCK_DGRAM.rawValue) | CInt(SOCK_CLOEXEC.rawValue), 0)
        self.receiver = receiver
        sender = socket(AF_INET, CInt(SOCK_DGRAM.rawValue) | CInt(SOCK_CLOEXEC.rawValue), 0)
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = UInt32(0x7F00_0001).bigEndian
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafeMutablePointer(to: &address) { pointer in
            pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { raw in
                bind(receiver, raw, length) == 0 && getsockname(receiver, raw, &length) == 0
            }
        }
        guard receiver >= 0, sender >= 0, bound else { throw LoopbackFailure("cannot set up UDP sockets") }
        receiverPort = UInt16(bigEndian: address.sin_port)
    }

    func send(_ text: String) throws {
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = UInt32(0x7F00_0001).bigEndian
        address.sin_port = receiverPort.bigEndian
        let bytes = Array(text.utf8)
        let sent = withUnsafePointer(to: &address) { pointer in
            pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { raw in
                sendto(sender, bytes, bytes.count, 0, raw, socklen_t(MemoryLayout<sockaddr_in>.size))
            }
        }
        guard sent == bytes.count else { throw LoopbackFailure("sendto failed") }
    }

    func close() {
        Glibc.close(receiver)
        Glibc.close(sender)
    }
}

/// A Unix stream listener at a path.
final class UnixListener {
    private let descriptor: CInt

    init(path: String, backlog: CInt) throws {
        let descriptor = socket(AF_UNIX, CInt(SOCK_STREAM.rawValue) | CInt(SOCK_CLOEXEC.rawValue), 0)
        self.descriptor = descriptor
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        withUnsafeMutableBytes(of: &address.sun_path) { raw in
            for (index, byte) in path.utf8.prefix(raw.count - 1).enumerated() { raw[index] = byte }
        }
        let bound = withUnsafePointer(to: &address) { pointer in
            pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { raw in
                bind(descriptor, raw, socklen_t(MemoryLayout<sockaddr_un>.size)) == 0
            }
        }
        guard descriptor >= 0, bound, listen(descriptor, backlog) == 0 else {
            throw LoopbackFailure("cannot listen on \(path)")
        }
    }

    func close() {
        Glibc.close(descriptor)
    }
}
