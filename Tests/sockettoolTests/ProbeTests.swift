// ProbeTests.swift -- `probe` (nc -z) over loopback: an open port (a listener that never reads), a refused
// one (ClosedPort), one that can only time out (a full accept queue), a range, --json, Unix sockets (open,
// missing, stale, no permission), and the exit statuses: 0 if any port is open, 1 if none, 64 usage, 68
// unknown host.
import Foundation
import SocketCore
import Testing

@Suite("probe: zero-I/O port checks over loopback")
struct ProbeTests {
    /// A loopback listener; probe's handshakes complete in its accept queue, nobody accepts them.
    private final class OpenPort {
        let port: UInt16
        private let socket: Socket

        init() throws {
            socket = try Socket.listening(on: SocketAddress(ipv4: "127.0.0.1", port: 0)!)
            port = try socket.localAddress().port
        }

        deinit { socket.close() }
    }

    @Test("an open and a refused port: a line each, in the order given, a summary on stderr, exit 0")
    func openAndRefused() throws {
        let open = try OpenPort()
        let closed = try ClosedPort()
        let run = try runSockettool(["probe", "127.0.0.1", String(closed.port), String(open.port)])
        withExtendedLifetime((open, closed)) {}
        #expect(run.status == 0, "\(run.transcript)")
        #expect(run.stdoutLines == ["127.0.0.1:\(closed.port) refused", "127.0.0.1:\(open.port) open"])
        #expect(run.stderrLines == ["2 ports on 127.0.0.1: 1 open, 1 refused"], "\(run.transcript)")
    }

    @Test("only refused ports: exit 1 (nc -z's convention), and -q prints neither them nor the summary")
    func noneOpen() throws {
        let closed = try ClosedPort()
        let run = try runSockettool(["probe", "127.0.0.1", String(closed.port), "-q"])
        withExtendedLifetime(closed) {}
        #expect(run.status == 1, "\(run.transcript)")
        #expect(run.stdout.isEmpty, "\(run.transcript)")
        #expect(run.stderr.isEmpty, "\(run.transcript)")
    }

    @Test("-q prints the open ports' lines alone; -v adds the addresses tried and each check's time")
    func quietAndVerbose() throws {
        let open = try OpenPort()
        let closed = try ClosedPort()
        let ports = [String(closed.port), String(open.port)]
        let quiet = try runSockettool(["probe", "127.0.0.1"] + ports + ["-q"])
        #expect(quiet.status == 0, "\(quiet.transcript)")
        #expect(quiet.stdoutLines == ["127.0.0.1:\(open.port) open"], "\(quiet.transcript)")
        #expect(quiet.stderr.isEmpty, "\(quiet.transcript)")
        let verbose = try runSockettool(["probe", "127.0.0.1"] + ports + ["-v"])
        withExtendedLifetime((open, closed)) {}
        #expect(verbose.status == 0, "\(verbose.transcript)")
        #expect(verbose.stdoutLines.count == 2, "\(verbose.transcript)")
        #expect(verbose.stdoutLines.first?.hasPrefix("127.0.0.1:\(closed.port) refused (") == true)
        #expect(verbose.stdoutLines.last?.hasPrefix("127.0.0.1:\(open.port) open (") == true)
        #expect(verbose.stdoutLines.allSatisfy { $0.hasSuffix("s)") }, "\(verbose.transcript)")
        #expect(verbose.stderrLines.first == "Checking 2 ports on 127.0.0.1 (127.0.0.1), at most 64 at once")
    }

    @Test("a full accept queue drops the SYN: timed out after --connect-timeout, exit 1")
    func timedOut() throws {
        let queue = try FullAcceptQueue()
        defer { queue.close() }
        let started = ContinuousClock.now
        let run = try runSockettool(["probe", "127.0.0.1", String(queue.port), "--connect-timeout", "0.5"])
        #expect(ContinuousClock.now - started >= .milliseconds(450), "gave up early: \(run.transcript)")
        #expect(run.status == 1, "\(run.transcript)")
        #expect(run.stdoutLines == ["127.0.0.1:\(queue.port) timed out after 500.00 ms"], "\(run.transcript)")
        #expect(run.stderrLines == ["1 port on 127.0.0.1: 1 timed out"], "\(run.transcript)")
    }

    @Test("a range around an open port: one line per port, in order, the listener's open")
    func range() throws {
        let open = try OpenPort()
        let low = max(open.port, 3) - 2
        let high = min(open.port, 65533) + 2
        let run = try runSockettool(["probe", "127.0.0.1", "\(low)-\(high)", "--concurrency", "2"])
        withExtendedLifetime(open) {}
        #expect(run.status == 0, "\(run.transcript)")
        // The neighbours belong to nobody in particular: each is open or refused, whatever runs meanwhile.
        let expected = (low...high).map { "127.0.0.1:\($0) " }
        #expect(run.stdoutLines.count == expected.count, "\(run.transcript)")
        for (line, prefix) in zip(run.stdoutLines, expected) {
            #expect(line == prefix + "open" || line == prefix + "refused", "\(line)")
        }
        #expect(run.stdoutLines.contains("127.0.0.1:\(open.port) open"), "\(run.transcript)")
    }

    @Test("--json: a port event per port and a summary event with every state's count")
    func json() throws {
        let open = try OpenPort()
        let closed = try ClosedPort()
        let run = try runSockettool(["probe", "127.0.0.1", String(open.port), String(closed.port), "--json"])
        withExtendedLifetime((open, closed)) {}
        #expect(run.status == 0, "\(run.transcript)")
        let events = try run.stdoutLines.map { line in
            try #require(JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any], "\(line)")
        }
        try #require(events.count == 3, "\(run.transcript)")
        #expect(events[0]["event"] as? String == "port")
        #expect(events[0]["port"] as? Int == Int(open.port))
        #expect(events[0]["state"] as? String == "open")
        #expect(events[0]["address"] as? String == "127.0.0.1:\(open.port)")
        #expect(events[1]["state"] as? String == "refused")
        #expect((events[1]["message"] as? String)?.contains("Connection refused") == true)
        #expect(events[2]["event"] as? String == "summary")
        #expect(events[2]["ports"] as? Int == 2)
        #expect(events[2]["open"] as? Int == 1)
        #expect(events[2]["refused"] as? Int == 1)
        #expect(events[2]["timed_out"] as? Int == 0)
    }

    @Test("every address of a name is tried: localhost's open IPv4 port is found whatever comes first")
    func everyAddress() throws {
        let open = try OpenPort()
        let run = try runSockettool(["probe", "localhost", String(open.port)])
        let ipv4 = try runSockettool(["probe", "-4", "localhost", String(open.port)])
        withExtendedLifetime(open) {}
        #expect(run.status == 0, "\(run.transcript)")
        #expect(run.stdoutLines == ["127.0.0.1:\(open.port) open"], "\(run.transcript)")
        #expect(ipv4.stdoutLines == ["127.0.0.1:\(open.port) open"], "\(ipv4.transcript)")
    }

    /// A command line and the status it must exit with.
    struct BadInput: Sendable, CustomTestStringConvertible {
        let words: [String]
        let status: Int32
        var testDescription: String { words.joined(separator: " ") + " -> \(status)" }
    }

    /// A network namespace of its own (`unshare -n`): its loopback is down, so even ::1 cannot be bound
    /// there, and nothing a command does there reaches any network.
    static let canUnshareNetwork: Bool = {
        guard let unshare = EndpointCLITests.unshare else { return false }
        return (try? ChildProcess.run(unshare, ["-n", "true"], timeout: .seconds(20)))?.status == 0
    }()

    @Test(
        "a --source this machine does not have: one bind error with a hint, exit 73, no port checked",
        .enabled(if: canUnshareNetwork, "needs unshare -n (root or a user namespace)")
    )
    func sourceNotLocal() throws {
        // In a new network namespace the loopback is down and has no ::1: bind fails with EADDRNOTAVAIL.
        let run = try ChildProcess.run(
            try #require(EndpointCLITests.unshare),
            ["-n", ChildProcess.sockettool, "probe", "::1", "1", "2", "--source", "::1"]
        )
        let transcript = "status \(run.status)\nstdout:\n\(run.stdout)\nstderr:\n\(run.stderr)"
        #expect(run.status == 73, "\(transcript)")
        #expect(run.stdout.isEmpty, "\(transcript)")
        #expect(
            run.stderr.components(separatedBy: "\n").filter { $0.hasPrefix("error: ") }
                == ["error: bind([::1]:0): Cannot assign requested address"],
            "\(transcript)"
        )
        #expect(run.stderr.contains("hint: that address is not on any interface"), "\(transcript)")
        #expect(!run.stderr.contains("failed"), "\(transcript)")
    }

    @Test("--unix: a listening socket is open; a missing file and a stale socket file are refused, saying which")
    func unixSocket() throws {
        let directory = try ScratchDirectory()
        let live = try #require(SocketAddress(unixPath: directory.path + "/live.sock"))
        let listener = try Socket.listening(on: live)
        defer { listener.closeListener() }
        // The handshake completes in the listener's queue; nobody accepts, no byte is sent.
        let open = try runSockettool(["probe", "--unix", live.host])
        #expect(open.status == 0, "\(open.transcript)")
        #expect(open.stdoutLines == ["\(live.host) open"], "\(open.transcript)")
        #expect(open.stderr.isEmpty, "one socket, one line: no summary\n\(open.transcript)")
        let missing = directory.path + "/missing.sock"
        let gone = try runSockettool(["probe", "--unix", missing])
        #expect(gone.status == 1, "\(gone.transcript)")
        #expect(gone.stdoutLines == ["\(missing) refused: no such file"], "\(gone.transcript)")
        // Bound and closed without listening: the file stays, as a crashed server's does.
        let stale = try #require(SocketAddress(unixPath: directory.path + "/stale.sock"))
        let socket = try Socket(family: stale.family)
        try socket.bind(to: stale)
        socket.close()
        let leftover = try runSockettool(["probe", "--unix", stale.host, "--json"])
        #expect(leftover.status == 1, "\(leftover.transcript)")
        let events = try leftover.stdoutLines.map { line in
            try #require(JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any], "\(line)")
        }
        try #require(events.count == 2, "\(leftover.transcript)")
        #expect(events[0]["event"] as? String == "port" && events[0]["path"] as? String == stale.host)
        #expect(events[0]["state"] as? String == "refused" && events[0]["port"] == nil)
        #expect((events[0]["message"] as? String)?.contains("Connection refused") == true, "\(events[0])")
        #expect(events[1]["event"] as? String == "summary" && events[1]["path"] as? String == stale.host)
        #expect(events[1]["refused"] as? Int == 1 && events[1]["open"] as? Int == 0)
    }

    @Test("--unix: a socket this user may not connect to is failed, with the reason (run as nobody when root)")
    func unixPermissionDenied() throws {
        let directory = try ScratchDirectory()
        #expect(chmod(directory.path, 0o755) == 0)
        let address = try #require(SocketAddress(unixPath: directory.path + "/private.sock"))
        let listener = try Socket.listening(on: address)
        defer { listener.closeListener() }
        // connect(2) on a Unix socket needs write permission on its file (unix(7)).
        #expect(chmod(address.host, 0) == 0)
        let run = try runSockettool(["probe", "--unix", address.host], unprivileged: true)
        #expect(run.status == 1, "\(run.transcript)")
        #expect(
            run.stdoutLines == ["\(address.host) failed: connect(\(address.host)): Permission denied"],
            "\(run.transcript)"
        )
    }

    @Test(
        "--unix replaces HOST and PORT and takes no -4, -6 or --source; no HOST at all is a usage error (exit 64)",
        arguments: [
            ["--unix", "/tmp/x.sock", "127.0.0.1", "1"], ["--unix", "/tmp/x.sock", "-4"],
            ["--unix", "/tmp/x.sock", "--source", "127.0.0.1"], [],
        ]
    )
    func unixMisuse(arguments: [String]) throws {
        let run = try runSockettool(["probe"] + arguments)
        #expect(run.status == 64, "\(run.transcript)")
        #expect(run.stderr.contains("error:"), "\(run.transcript)")
    }

    @Test(
        "usage errors exit 64, an unknown host 68",
        arguments: [
            BadInput(words: ["probe", "127.0.0.1"], status: 64),
            BadInput(words: ["probe", "127.0.0.1", "9-3"], status: 64),
            BadInput(words: ["probe", "127.0.0.1", "0"], status: 64),
            BadInput(words: ["probe", "127.0.0.1", "1-2-3"], status: 64),
            BadInput(words: ["probe", "127.0.0.1", "80", "--concurrency", "0"], status: 64),
            BadInput(words: ["probe", "no-such-host.invalid", "80"], status: 68),
        ]
    )
    func badInput(_ input: BadInput) throws {
        let run = try runSockettool(input.words)
        #expect(run.status == input.status, "\(run.transcript)")
        #expect(run.stderr.contains("error:"), "\(run.transcript)")
    }
}
