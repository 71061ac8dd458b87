// UnixSocketCLITests.swift -- --unix PATH through the binary: every server and client mode over a socket in
// a temporary directory, the socket file's rules (stale replaced, anything else refused with exit 73, the
// server's own removed at exit, also after SIGINT's drain), and -v's SO_PEERCRED peer.
import Foundation
import Glibc
import Testing

@Suite("--unix through the binary: servers, every client mode, the socket file")
struct UnixSocketCLITests {
    /// A server on `--unix PATH`, up once it printed its listening line.
    static func withUnixServer<T>(
        _ arguments: [String],
        in directory: ScratchDirectory,
        _ body: (ChildProcess, String) throws -> T
    ) throws -> T {
        let path = directory.path + "/server.sock"
        let server = try ChildProcess(sockettool: arguments + ["--unix", path])
        let line = try server.waitForLine { $0.hasPrefix("Listening on ") }
        #expect(line == "Listening on \(path)")
        return try body(server, path)
    }

    @Test(
        "serve multi --unix: every connect mode gets its echo over the socket",
        arguments: [
            ["-m", "over a path"], ["--conns", "3"], ["--duration", "0.3", "--conns", "2"], ["--bytes", "100000"],
        ]
    )
    func connectModes(extra: [String]) throws {
        let directory = try ScratchDirectory()
        // Quiet but for one message: a load's thousands of echo lines would fill a pipe this test does not read.
        let showsLines = extra.first == "-m"
        try Self.withUnixServer(["serve", "multi"] + (showsLines ? [] : ["-q"]), in: directory) { server, path in
            let run = try ChildProcess.sockettool(["connect", "--unix", path, "-q"] + extra)
            #expect(run.status == 0, "\(extra): \(run.stderr)")
            if showsLines {
                let accepted = try server.waitForLine { $0.hasPrefix("Accepted connection from ") }
                // The client is unnamed: shown as the process that connected, never as the server's path.
                #expect(accepted.wholeMatch(of: /Accepted connection from unix:pid=\d+,uid=\d+/) != nil, "\(accepted)")
                #expect(accepted.hasSuffix(",uid=\(getuid())"), "\(accepted)")
            }
        }
    }

    @Test("connect --unix -m -: the relay copies stdin to the socket and the echo to stdout")
    func relay() throws {
        let directory = try ScratchDirectory()
        try Self.withUnixServer(["serve", "multi", "-q"], in: directory) { _, path in
            let run = try ChildProcess.sockettool(
                ["connect", "--unix", path, "-m", "-"],
                input: "line one\nline two\n"
            )
            #expect(run.status == 0, "\(run.stderr)")
            #expect(run.stdout == "line one\nline two", "\(run.stdout)")
        }
    }

    @Test(
        "serve app --unix: search and its load mode",
        arguments: [[String](), ["--count", "10", "--concurrency", "3"]]
    )
    func search(extra: [String]) throws {
        let directory = try ScratchDirectory()
        try Self.withUnixServer(["serve", "app", "-q"], in: directory) { _, path in
            let run = try ChildProcess.sockettool(["search", "--unix", path, "morpheus", "-q"] + extra)
            #expect(run.status == 0, "\(run.stderr)")
            if extra.isEmpty { #expect(run.stdout == "Got result: Follow the white rabbit. \u{1F430}") }
        }
    }

    @Test("serve echo --unix: the peer is unix: with the client's pid and uid (SO_PEERCRED)")
    func echoPeerCredentials() throws {
        let directory = try ScratchDirectory()
        try Self.withUnixServer(["serve", "echo"], in: directory) { server, path in
            let run = try ChildProcess.sockettool(["connect", "--unix", path])
            #expect(run.status == 0, "\(run.stderr)")
            #expect(run.stdout == "Received b'Hello, world'")
            let connected = try server.waitForLine { $0.hasPrefix("Connected by ") }
            #expect(connected.wholeMatch(of: /Connected by unix:pid=\d+,uid=\d+/) != nil, "\(connected)")
            #expect(connected.hasSuffix(",uid=\(getuid())"), "\(connected)")
            let status = try server.waitForExit()
            #expect(status == 0)
            #expect(!FileManager.default.fileExists(atPath: path), "serve echo left its socket file")
        }
    }

    @Test("listen --unix: nc -lU, fed by connect --unix -m -")
    func listen() throws {
        let directory = try ScratchDirectory()
        let path = directory.path + "/listen.sock"
        let listener = try ChildProcess(sockettool: ["listen", "--unix", path, "--recv-only"])
        #expect(eventually { listener.stderrText.contains("Listening on \(path)") }, "\(listener.transcript)")
        let send = try ChildProcess.sockettool(["connect", "--unix", path, "-m", "-", "--send-only"], input: "to nc\n")
        #expect(send.status == 0, "\(send.stderr)")
        let status = try listener.waitForExit()
        #expect(status == 0, "\(listener.transcript)")
        let received = listener.stdoutLines + (try listener.remainingLines())
        #expect(received == ["to nc"])
        #expect(!FileManager.default.fileExists(atPath: path))
        #expect(
            listener.stderrText.contains(/Accepted connection from unix:pid=\d+,uid=\d+\n/),
            "\(listener.transcript)"
        )
    }

    @Test("SIGINT's drain removes the server's socket file", arguments: ["multi", "app"])
    func removedAfterSignal(kind: String) throws {
        let directory = try ScratchDirectory()
        try Self.withUnixServer(["serve", kind], in: directory) { server, path in
            #expect(FileManager.default.fileExists(atPath: path))
            server.send(SIGINT)
            let status = try server.waitForExit()
            #expect(status == 0)
            #expect(!FileManager.default.fileExists(atPath: path))
        }
    }

    @Test("a stale socket file is replaced; a live one or a plain file is refused with exit 73 and kept")
    func socketFileRules() throws {
        let directory = try ScratchDirectory()
        // A server killed with SIGKILL leaves its file behind: stale.
        let killed = try ChildProcess(sockettool: ["serve", "multi", "--unix", directory.path + "/s.sock"])
        _ = try killed.waitForLine { $0.hasPrefix("Listening on ") }
        killed.send(SIGKILL)
        _ = try killed.waitForExit()
        let path = directory.path + "/s.sock"
        #expect(FileManager.default.fileExists(atPath: path))
        let server = try ChildProcess(sockettool: ["serve", "multi", "--unix", path])
        #expect(try server.waitForLine { $0.hasPrefix("Listening on ") } == "Listening on \(path)")
        let second = try ChildProcess.sockettool(["serve", "app", "--unix", path])
        #expect(second.status == 73, "\(second.stderr)")
        #expect(second.stderr.contains("a server is already listening on this socket"), "\(second.stderr)")
        let echo = try ChildProcess.sockettool(["connect", "--unix", path])
        #expect(echo.status == 0, "the first server lost its socket: \(echo.stderr)")
        let plain = directory.path + "/notes.txt"
        try "mine".write(toFile: plain, atomically: true, encoding: .utf8)
        let refused = try ChildProcess.sockettool(["serve", "multi", "--unix", plain])
        #expect(refused.status == 73, "\(refused.stderr)")
        #expect(refused.stderr.contains("is not a socket"), "\(refused.stderr)")
        #expect(try String(contentsOfFile: plain, encoding: .utf8) == "mine")
    }

    @Test(
        "--unix with HOST PORT, -4/-6, --source or --no-reuseaddr (nothing for a Unix socket) is a usage error",
        arguments: [
            ["serve", "multi", "127.0.0.1", "0", "--unix", "/tmp/x.sock"], ["connect", "-6", "--unix", "/tmp/x.sock"],
            ["connect", "--unix", "/tmp/x.sock", "--source", "127.0.0.1"],
            ["search", "--unix", "/tmp/x.sock", "1", "v"],
            ["flood", "serve", "--unix", "/tmp/x.sock"],
            ["serve", "echo", "--unix", "/tmp/x.sock", "--no-reuseaddr"],
            ["serve", "multi", "--unix", "/tmp/x.sock", "--no-reuseaddr"],
            ["serve", "app", "--unix", "/tmp/x.sock", "--no-reuseaddr"],
            ["serve", "discard", "--unix", "/tmp/x.sock", "--no-reuseaddr"],
            ["probe", "--unix", "/tmp/x.sock", "127.0.0.1", "1"],
        ]
    )
    func misuse(arguments: [String]) throws {
        let run = try ChildProcess.sockettool(arguments)
        #expect(run.status == 64, "\(arguments): \(run.stderr)")
    }

    @Test("a client given a path with no socket: refused, exit 69, with the server command to start")
    func nothingThere() throws {
        let directory = try ScratchDirectory()
        let run = try ChildProcess.sockettool(["search", "--unix", directory.path + "/none.sock", "x"])
        #expect(run.status == 69, "\(run.stderr)")
        #expect(run.stderr.contains("sockettool serve app --unix \(directory.path)/none.sock"), "\(run.stderr)")
    }

    @Test("a client given a plain file: refused, exit 69, with a Unix hint (no port, 'ss -ltn' or firewall)")
    func plainFileRefused() throws {
        let directory = try ScratchDirectory()
        let path = directory.path + "/plain"
        #expect(FileManager.default.createFile(atPath: path, contents: Data("x".utf8)))
        let run = try ChildProcess.sockettool(["connect", "--unix", path, "-m", "-"], input: "")
        #expect(run.status == 69, "\(run.stderr)")
        #expect(run.stderr.contains("error: connect(\(path)): Connection refused"), "\(run.stderr)")
        #expect(run.stderr.contains("not a socket") && run.stderr.contains("'ss -lx'"), "\(run.stderr)")
        #expect(!run.stderr.contains("port") && !run.stderr.contains("ss -ltn"), "\(run.stderr)")
        #expect(!run.stderr.contains("firewall"), "\(run.stderr)")
    }

    @Test("a server path in a directory that does not exist: exit 73, 'directory does not exist'")
    func missingDirectory() throws {
        let directory = try ScratchDirectory()
        let path = directory.path + "/nodir/x.sock"
        let run = try ChildProcess.sockettool(["serve", "multi", "--unix", path])
        #expect(run.status == 73, "\(run.stderr)")
        #expect(run.stderr.contains("error: bind(\(path)): No such file or directory"), "\(run.stderr)")
        #expect(run.stderr.contains("hint: the directory \(directory.path)/nodir does not exist"), "\(run.stderr)")
    }
}
