// RelayCLITests.swift -- `connect -m -` and `listen` through the binary: the end-of-stream rules as a
// user meets them, -k and --max-conns, --json events on stderr, -x, and output failures that exit 74.
import Foundation
import Glibc
import SocketCore
import Testing

@testable import sockettool

@Suite("relay through the binary: connect -m -, listen, exit 74")
struct RelayCLITests {
    @Test("connect -m - > /dev/full: a local output error, exit 74, the peer not blamed")
    func stdoutFull() throws {
        let listener = try LoopbackListener()
        let child = try shell("exec \"$0\" connect 127.0.0.1 \(listener.port) -m - < /dev/null > /dev/full")
        let connection = try listener.accept()
        try connection.send(Array("more than nothing".utf8))
        connection.close()
        #expect(try child.waitForExit(timeout: .seconds(20)) == 74, "\(child.transcript)")
        #expect(child.stderrText.contains("cannot write stdout: No space left on device"), "\(child.transcript)")
        #expect(child.stderrText.contains("the connection was fine"), "\(child.transcript)")
    }

    @Test("connect -m - with stdout closed: exit 74, and the JSON error says output_error")
    func stdoutClosed() throws {
        let listener = try LoopbackListener()
        let child = try shell("exec \"$0\" connect 127.0.0.1 \(listener.port) -m - --json < /dev/null >&-")
        let connection = try listener.accept()
        try connection.send(Array("data".utf8))
        connection.close()
        #expect(try child.waitForExit(timeout: .seconds(20)) == 74, "\(child.transcript)")
        // --json in a relay: the events are on stderr, stdout is the peer's bytes.
        let events = child.stderrText.split(separator: "\n").compactMap { jsonObject(String($0)) }
        let error = try #require(events.last { $0["event"] as? String == "error" }, "\(child.transcript)")
        #expect(error["kind"] as? String == "output_error")
        #expect((error["message"] as? String)?.contains("stdout: it is closed") == true, "\(error)")
    }

    @Test("the peer closes fully while stdin still sends: exit 1, and how much was not sent")
    func peerClosesWhileSending() throws {
        let listener = try LoopbackListener()
        let child = try shell("exec \"$0\" connect 127.0.0.1 \(listener.port) -m - < /dev/zero")
        let connection = try listener.accept()
        _ = try connection.readExactly(100_000, timeout: .seconds(10))
        // Closing with unread bytes: TCP resets the connection.
        connection.close()
        #expect(try child.waitForExit(timeout: .seconds(20)) == 1, "\(child.transcript)")
        #expect(child.stderrText.contains("of stdin not sent"), "\(child.transcript)")
    }

    @Test("the peer resets after stdin was all written: exit 1, and the bytes it never acknowledged are named")
    func resetAfterEverythingWasWritten() throws {
        let file = FileManager.default.temporaryDirectory.appendingPathComponent("relay-\(UUID().uuidString).bin")
        try Data(repeating: 0x5A, count: 3_000_000).write(to: file)
        defer { try? FileManager.default.removeItem(at: file) }
        let listener = try LoopbackListener()
        let child = try shell("exec \"$0\" connect 127.0.0.1 \(listener.port) -m - < '\(file.path)' > /dev/null")
        let connection = try listener.accept()
        _ = try connection.readExactly(100_000, timeout: .seconds(10))
        // Closing with unread bytes: TCP resets, and the kernel throws away what it had not delivered.
        connection.close()
        #expect(try child.waitForExit(timeout: .seconds(20)) == 1, "\(child.transcript)")
        let said = try #require(
            child.stderrText.firstMatch(of: /([0-9,]+) bytes written were never acknowledged by the peer/),
            "\(child.transcript)"
        )
        let unacknowledged = Int(said.1.filter { $0 != "," }) ?? 0
        #expect(unacknowledged > 0 && unacknowledged <= 3_000_000 - 100_000, "\(child.transcript)")
    }

    @Test("a relay's idle limit: none by default or with 0, else --timeout; other clients keep 10 s")
    func relayTimeouts() throws {
        let base = ["127.0.0.1", "9", "-m", "-"]
        #expect(try Connect.parse(base).client.relayIdleTimeout == nil)
        #expect(try Connect.parse(base + ["--timeout", "0"]).client.relayIdleTimeout == nil)
        #expect(try Connect.parse(base + ["--timeout", "2.5"]).client.relayIdleTimeout == .milliseconds(2500))
        #expect(try Connect.parse(["127.0.0.1", "9"]).client.options.timeout == .seconds(10))
        #expect(try Connect.parse(["127.0.0.1", "9", "--timeout", "0"]).client.options.timeout == nil)
    }

    @Test("--timeout 0 means never, as leaving it out does in a relay")
    func timeoutZero() throws {
        let listener = try LoopbackListener()
        let child = try ChildProcess(sockettool: [
            "connect", "127.0.0.1", String(listener.port), "-m", "-", "--timeout", "0",
        ])
        let connection = try listener.accept()
        child.write("ping\n")
        #expect(try connection.readExactly(5) == Array("ping\n".utf8))
        try connection.send(Array("pong\n".utf8))
        #expect(try child.nextLine(timeout: .seconds(10)) == "pong")
        child.closeInput()
        #expect(connection.readToEnd().end == .eof)
        connection.close()
        #expect(try child.waitForExit(timeout: .seconds(10)) == 0, "\(child.transcript)")
    }

    @Test("listen 0: the chosen port on stderr, the peer's bytes alone on stdout, then exit 0")
    func listenReceives() throws {
        let child = try ChildProcess(sockettool: ["listen", "0"])
        let port = try child.stderrListeningPort()
        let client = try LoopbackClient.connect(port: port)
        try client.send(Array("line one\nline two\n".utf8))
        try client.shutdownWrite()
        child.closeInput()
        #expect(client.readToEnd().bytes.isEmpty)
        client.close()
        #expect(try child.waitForExit(timeout: .seconds(10)) == 0, "\(child.transcript)")
        #expect(child.stdoutLines + (try child.remainingLines()) == ["line one", "line two"])
        #expect(child.stderrText.contains("Accepted connection from 127.0.0.1:"), "\(child.transcript)")
    }

    @Test("listen --json: listening, accepted, summary and closed events, on stderr")
    func listenJSON() throws {
        let child = try ChildProcess(sockettool: ["listen", "0", "--json"])
        let port = try child.stderrListeningPort()
        let client = try LoopbackClient.connect(port: port)
        child.write("to the client")
        child.closeInput()
        let (bytes, end) = client.readToEnd(timeout: .seconds(10))
        #expect(bytes == Array("to the client".utf8))
        #expect(end == .eof)
        try client.send(Array("to stdout".utf8))
        client.close()
        #expect(try child.waitForExit(timeout: .seconds(10)) == 0, "\(child.transcript)")
        #expect(child.stdoutLines + (try child.remainingLines()) == ["to stdout"])
        let events = child.stderrText.split(separator: "\n").compactMap { jsonObject(String($0)) }
        #expect(events.map { $0["event"] as? String } == ["listening", "accepted", "summary", "closed"], "\(events)")
        let summary = try #require(events.first { $0["event"] as? String == "summary" })
        #expect(summary["bytes_sent"] as? Int == 13)
        #expect(summary["bytes_received"] as? Int == 9)
    }

    @Test("listen without -k: a second client is refused once the first is in")
    func listenOnce() throws {
        let child = try ChildProcess(sockettool: ["listen", "0"])
        let port = try child.stderrListeningPort()
        let first = try LoopbackClient.connect(port: port)
        try child.waitForStderr { $0.hasPrefix("Accepted connection") ? true : nil }
        #expect(throws: (any Error).self) { try LoopbackClient.connect(port: port) }
        child.closeInput()
        try first.shutdownWrite()
        first.close()
        #expect(try child.waitForExit(timeout: .seconds(10)) == 0, "\(child.transcript)")
    }

    @Test("listen -k --max-conns 2: two clients one after another, then exit 0")
    func listenKeepOpen() throws {
        let child = try ChildProcess(sockettool: ["listen", "0", "-k", "--max-conns", "2", "--recv-only"])
        let port = try child.stderrListeningPort()
        for index in 1...2 {
            let client = try LoopbackClient.connect(port: port)
            try client.send(Array("client \(index)\n".utf8))
            try client.shutdownWrite()
            // --recv-only: the listener closes once this client's FIN is in.
            #expect(client.readToEnd(timeout: .seconds(10)).end == .eof)
            client.close()
        }
        #expect(try child.waitForExit(timeout: .seconds(10)) == 0, "\(child.transcript)")
        #expect(child.stdoutLines + (try child.remainingLines()) == ["client 1", "client 2"])
    }

    @Test("-x: connect's echo mode dumps what it sent and what came back")
    func hexDumpEcho() throws {
        try withServer(["serve", "multi", "127.0.0.1", "0", "-q"]) { _, port in
            let run = try ChildProcess.sockettool(["connect", "127.0.0.1", String(port), "-x"])
            #expect(run.status == 0, "\(run.stderr)")
            #expect(
                run.stderr.contains(
                    """
                    > sent 12 bytes to 127.0.0.1:\(port)
                    00000000  48 65 6c 6c 6f 2c 20 77  6f 72 6c 64              |Hello, world|
                    """
                ),
                "\(run.stderr)"
            )
            #expect(run.stderr.contains("< received 12 bytes from 127.0.0.1:\(port)"), "\(run.stderr)")
        }
    }

    @Test("-x --json: each chunk a data event with direction, offset and hex")
    func hexDumpJSON() throws {
        let child = try ChildProcess(sockettool: ["listen", "0", "-x", "--json"])
        let port = try child.stderrListeningPort()
        let client = try LoopbackClient.connect(port: port)
        child.write("AB")
        child.closeInput()
        #expect(client.readToEnd(timeout: .seconds(10)).bytes == Array("AB".utf8))
        try client.send([0x00, 0xff])
        client.close()
        #expect(try child.waitForExit(timeout: .seconds(10)) == 0, "\(child.transcript)")
        let data = child.stderrText.split(separator: "\n").compactMap { jsonObject(String($0)) }
            .filter { $0["event"] as? String == "data" }
        #expect(data.count == 2, "\(child.transcript)")
        #expect(data.first?["direction"] as? String == "sent")
        #expect(data.first?["hex"] as? String == "4142")
        #expect(data.last?["direction"] as? String == "received")
        #expect(data.last?["hex"] as? String == "00ff")
        #expect(data.last?["offset"] as? Int == 0)
    }
}

/// One JSON line as a dictionary; nil for anything else.
func jsonObject(_ line: String) -> [String: Any]? {
    (try? JSONSerialization.jsonObject(with: Data(line.utf8))) as? [String: Any]
}
