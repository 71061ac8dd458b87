// FloodServeIdleTests.swift -- `flood serve --idle-timeout`: a sender that closes while its bytes wait
// unread never gets its FIN through (it queues behind them), so only a deadline frees its place.
import Foundation
import Glibc
import SocketCore
import Testing

@Suite("flood serve: idle connections are closed, so closed senders cannot hold --max-conns")
struct FloodServeIdleTests {
    @Test("--max-conns 1 --idle-timeout 1: a sender that filled the queue and closed gives its place back")
    func closedSenderFreesItsPlace() throws {
        try withServer(["flood", "serve", "127.0.0.1", "0", "--max-conns", "1", "--idle-timeout", "1", "--json"]) {
            server,
            port in
            let first = try LoopbackClient.connect(port: port, sendBuffer: 16384)
            let chunk = [UInt8](repeating: UInt8(ascii: "x"), count: 65536)
            #expect(try first.sendUntilBlocked(chunk, cap: 64 << 20) > 0)
            let firstPort = first.boundPort
            first.close()  // its FIN waits behind the unread bytes: the server's side stays ESTABLISHED
            let second = try LoopbackClient.connect(port: port)
            defer { second.close() }
            let closed = try server.waitForLine(timeout: .seconds(15)) { $0.contains(#""event": "closed""#) }
            #expect(closed.contains(#""reason": "idle, no traffic for 1.0 s""#), "\(closed)")
            #expect(closed.contains(":\(firstPort)\""), "\(closed)")
            // The place it held goes to the client waiting in the listen queue.
            let accepted = try server.waitForLine(timeout: .seconds(15)) { $0.contains(#""event": "accepted""#) }
            #expect(accepted.contains(":\(second.boundPort)\""), "\(accepted)")
        }
    }

    @Test("a sender that keeps sending is not idle, however long it takes")
    func activeSenderStays() throws {
        try withServer(["flood", "serve", "127.0.0.1", "0", "--idle-timeout", "1", "--drain", "64k", "--json"]) {
            server,
            port in
            let client = try LoopbackClient.connect(port: port)
            defer { client.close() }
            let started = ContinuousClock.now
            // 2.5 s of a slow stream: the reader's progress counts as traffic.
            while ContinuousClock.now - started < .milliseconds(2500) {
                try client.send([UInt8](repeating: 1, count: 4096))
                usleep(100_000)
            }
            try client.send([1])
            server.send(SIGINT)
            #expect(try server.waitForExit() == 0)
            let lines = server.stdoutLines + (try server.remainingLines())
            #expect(!lines.contains { $0.contains(#""event": "closed""#) }, "\(lines)")
        }
    }

    @Test("without --idle-timeout the deadline is 300 s: the default --max-conns 64 cannot be held forever")
    func deadlineIsOnByDefault() throws {
        let help = try ChildProcess.sockettool(["flood", "serve", "--help"])
        #expect(help.status == 0, "\(help.stderr)")
        let words = help.stdout.split(whereSeparator: \.isWhitespace).joined(separator: " ")
        func entry(_ option: String) throws -> Substring {
            let start = try #require(words.range(of: option), "\(help.stdout)")
            let rest = words[start.upperBound...]
            return rest[..<(rest.range(of: " --")?.lowerBound ?? rest.endIndex)]
        }
        #expect(try entry("--idle-timeout <seconds>").hasSuffix("(default: 300.0)"), "\(help.stdout)")
        #expect(try entry("--max-conns <n>").contains("(default: 64)"), "\(help.stdout)")
    }

    @Test("--idle-timeout must not be negative")
    func negativeRefused() throws {
        let run = try ChildProcess.sockettool(["flood", "serve", "127.0.0.1", "0", "--idle-timeout", "-1"])
        #expect(run.status == 64, "\(run.stderr)")
    }
}
