// ConnectTests.swift -- `connect` against real servers and against test servers that misbehave: refused
// ports, netcat mode, and echoes that are wrong or cut short.
import Foundation
import Glibc
import SocketCore
import Testing

@Suite("connect: errors, netcat mode, and checking the echo")
struct ConnectTests {
    @Test(
        "a closed port: the refused error with a hint on stderr, exit 69",
        arguments: [
            ["connect", "127.0.0.1", "PORT"],
            ["connect", "127.0.0.1", "PORT", "-m", "hello"],
            ["connect", "127.0.0.1", "PORT", "--conns", "3"],
            ["search", "127.0.0.1", "PORT", "morpheus"],
        ]
    )
    func refusedConnection(template: [String]) throws {
        let closed = try ClosedPort()
        let arguments = template.map { $0 == "PORT" ? String(closed.port) : $0 }
        // The port stays bound (and so refused, and not anyone else's) until the command is done.
        let result = try withExtendedLifetime(closed) { try ChildProcess.sockettool(arguments) }
        #expect(result.status == 69, "exit \(result.status); stderr:\n\(result.stderr)")
        let lines = result.stderr.split(separator: "\n").map(String.init)
        #expect(
            lines.contains {
                $0.hasPrefix("error: ") && $0.contains("127.0.0.1:\(closed.port)") && $0.contains("refused")
            },
            "\(result.stderr)"
        )
        #expect(
            lines.contains { $0.hasPrefix("hint: ") && $0.contains("is the server running") },
            "\(result.stderr)"
        )
    }

    @Test(
        "sizes take suffixes on every size option, as flood's do",
        arguments: [
            (["connect", "--bytes", "1.5k"], 1536),
            (["connect", "--bytes", "2KiB", "--conns", "2"], 4096),
            (["connect", "--bytes", "64k", "--timeout", "5"], 65536),
        ]
    )
    func sizeSuffixes(arguments: [String], expectedBytes: Int) throws {
        try withServer(["serve", "multi", "127.0.0.1", "0", "-q", "--max-pending", "4k"]) { _, port in
            let run = try ChildProcess.sockettool(
                [arguments[0], "127.0.0.1", String(port)] + arguments.dropFirst() + ["--json"]
            )
            #expect(run.status == 0, "\(run.stderr)")
            let summary = try #require(run.stdout.split(separator: "\n").last.map(String.init))
            #expect(summary.contains(#""bytes_sent": \#(expectedBytes),"#), "\(summary)")
            #expect(summary.contains(#""bytes_received": \#(expectedBytes),"#), "\(summary)")
        }
    }

    @Test("netcat mode (-m -): stdin goes to the server, the server's bytes to stdout")
    func netcatRelaysStdinAndStdout() throws {
        try withServer(["serve", "multi", "127.0.0.1", "0", "-q"]) { _, port in
            let lines = (1...400).map { "line \($0): caf\u{E9} \u{1F436} \t tab" }
            let input = lines.joined(separator: "\n") + "\n"
            let result = try ChildProcess.sockettool(
                ["connect", "127.0.0.1", String(port), "-m", "-"],
                input: input,
                timeout: .seconds(10)
            )
            #expect(result.status == 0, "\(result.stderr)")
            #expect(result.stdout == lines.joined(separator: "\n"))
        }
    }

    @Test("netcat mode against a test server: what it sends arrives on stdout, stdin arrives at it")
    func netcatBothDirections() throws {
        let listener = try LoopbackListener()
        let child = try ChildProcess(sockettool: ["connect", "127.0.0.1", String(listener.port), "-m", "-"])
        let connection = try listener.accept()
        try connection.send(Array("from the server\n".utf8))
        #expect(try child.nextLine() == "from the server")
        child.write("from stdin\n")
        #expect(try connection.readExactly(11) == Array("from stdin\n".utf8))
        child.closeInput()
        // stdin ended: netcat sends FIN and waits for the server to finish.
        #expect(try connection.readSome() == [])
        try connection.send(Array("last words\n".utf8))
        connection.close()
        #expect(try child.waitForExit() == 0, "\(child.transcript)")
        #expect(child.stdoutLines + (try child.remainingLines()) == ["from the server", "last words"])
    }

    /// stdin pauses while its bytes wait for the socket, so before this deadline nothing ever woke the
    /// session again when the server stopped reading (a helper's review).
    @Test("netcat mode: a server that reads nothing while stdin has more ends the session after --timeout")
    func netcatServerNotReading() throws {
        let listener = try LoopbackListener()
        // stdin that never ends: /dev/zero, through a shell that execs sockettool.
        let command = "exec \"$0\" connect 127.0.0.1 \(listener.port) -m - --timeout 1 < /dev/zero"
        let child = try ChildProcess("/bin/sh", ["-c", command, ChildProcess.sockettool])
        let connection = try listener.accept()
        defer { connection.close() }
        #expect(try child.waitForExit() == 75, "\(child.transcript)")
        #expect(child.stderrText.contains("room to send (the server is not reading)"), "\(child.transcript)")
    }

    @Test("an echo that differs fails with exit 1 and says where")
    func wrongEchoFails() throws {
        let listener = try LoopbackListener()
        let child = try ChildProcess(sockettool: ["connect", "127.0.0.1", String(listener.port)])
        let connection = try listener.accept()
        #expect(try connection.readExactly(12) == Array("Hello, world".utf8))
        try connection.send(Array("Hello, World".utf8))
        #expect(try child.waitForExit() == 1)
        #expect(child.stderrText.contains("first at byte 7"), "\(child.stderrText)")
        connection.close()
    }

    @Test("--conns 2, one wrong echo and one timeout: exit 1 for the run, not 75 for the first error kind")
    func mixedFailuresExitOne() throws {
        let listener = try LoopbackListener()
        let child = try ChildProcess(
            sockettool: ["connect", "127.0.0.1", String(listener.port), "--conns", "2", "--timeout", "1"]
        )
        let first = try listener.accept()
        let second = try listener.accept()
        // The guide's messages are 22 bytes each; one connection gets different bytes back, the other none.
        let message = try first.readExactly(22)
        try first.send(message.map { $0 ^ 0x20 })
        _ = try second.readExactly(22)
        #expect(try child.waitForExit() == 1, "\(child.transcript)")
        #expect(child.stderrText.contains("2 of 2 connections failed"), "\(child.stderrText)")
        first.close()
        second.close()
    }

    @Test("an echo cut short fails with exit 1 and counts the bytes")
    func shortEchoFails() throws {
        let listener = try LoopbackListener()
        let child = try ChildProcess(sockettool: ["connect", "127.0.0.1", String(listener.port)])
        let connection = try listener.accept()
        #expect(try connection.readExactly(12) == Array("Hello, world".utf8))
        try connection.send(Array("Hello".utf8))
        connection.close()
        #expect(try child.waitForExit() == 1)
        #expect(child.stderrText.contains("5 of 12 bytes"), "\(child.stderrText)")
    }

    @Test("a server that resets: the error names the call, the peer and the cause, exit 1")
    func resetEchoFails() throws {
        let listener = try LoopbackListener()
        let child = try ChildProcess(sockettool: ["connect", "127.0.0.1", String(listener.port)])
        let connection = try listener.accept()
        #expect(try connection.readExactly(12) == Array("Hello, world".utf8))
        connection.reset()
        #expect(try child.waitForExit() == 1, "\(child.transcript)")
        let stderr = child.stderrText
        #expect(stderr.contains("Connection reset by peer"), "\(stderr)")
        #expect(stderr.contains("127.0.0.1:\(listener.port)"), "\(stderr)")
        #expect(stderr.contains("hint: "), "\(stderr)")
    }

    /// The run used to idle until --duration ended and average its throughput over the dead time.
    @Test("load mode: when every stream has failed, the run ends at once instead of at --duration")
    func loadEndsWhenAllStreamsFailed() throws {
        let listener = try LoopbackListener()
        let child = try ChildProcess(
            sockettool: ["connect", "127.0.0.1", String(listener.port), "--duration", "60", "--conns", "2"]
        )
        let first = try listener.accept()
        let second = try listener.accept()
        _ = try first.readSome()
        first.reset()
        second.reset()
        // A 60 s run: only the early end can make this bound.
        #expect(try child.waitForExit() == 1, "\(child.transcript)")
        #expect(child.stderrText.contains("2 of 2 connections failed"), "\(child.transcript)")
    }

    @Test("--conns: one connection's wrong echo fails the run with exit 1")
    func multiConnectionMismatchFails() throws {
        let listener = try LoopbackListener()
        let child = try ChildProcess(sockettool: ["connect", "127.0.0.1", String(listener.port), "--conns", "2"])
        let expected = Array("Message 1 from client.Message 2 from client.".utf8)
        let first = try listener.accept()
        let second = try listener.accept()
        #expect(try first.readExactly(expected.count) == expected)
        #expect(try second.readExactly(expected.count) == expected)
        try first.send(expected)
        try second.send(Array(expected.dropLast()) + [UInt8(ascii: "!")])
        #expect(try child.waitForExit() == 1, "\(child.transcript)")
        #expect(child.stderrText.contains("1 of 2 connections failed"), "\(child.stderrText)")
        first.close()
        second.close()
    }
}
