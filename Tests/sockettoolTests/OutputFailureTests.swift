// OutputFailureTests.swift -- every client that cannot write its results says so and exits 74
// (EX_IOERR), with a hint that the peer is not to blame: stdout on /dev/full, closed, or a pipe whose
// reader is gone.
import Foundation
import Testing

/// Where a client's stdout goes.
enum BrokenStdout: String, CaseIterable, Sendable, CustomTestStringConvertible {
    case full = "> /dev/full"
    case closed = ">&-"
    /// A pipe whose read end was closed before the client started: every write is EPIPE, no race.
    case readerGone = "a pipe with no reader"

    var testDescription: String { rawValue }

    /// A shell script running sockettool (`$0`) with `arguments` and this stdout.
    func script(_ arguments: [String]) -> String {
        let words = arguments.map { "'\($0)'" }.joined(separator: " ")
        switch self {
        case .full, .closed: return "exec \"$0\" \(words) \(rawValue)"
        case .readerGone:
            let python =
                "import os, subprocess, sys; r, w = os.pipe(); os.close(r); "
                + "sys.exit(subprocess.call(sys.argv[1:], stdout=w))"
            return "exec python3 -c '\(python)' \"$0\" \(words)"
        }
    }
}

@Suite("output failures are failures: exit 74")
struct OutputFailureTests {
    @Test("search", arguments: BrokenStdout.allCases)
    func search(stdout: BrokenStdout) throws {
        try withServer(["serve", "app", "127.0.0.1", "0", "-q"]) { _, port in
            try expectOutputError(stdout.script(["search", "127.0.0.1", String(port), "morpheus"]))
        }
    }

    @Test("search --json: the JSON lines are its results", arguments: BrokenStdout.allCases)
    func searchJSON(stdout: BrokenStdout) throws {
        try withServer(["serve", "app", "127.0.0.1", "0", "-q"]) { _, port in
            try expectOutputError(stdout.script(["search", "127.0.0.1", String(port), "morpheus", "--json"]))
        }
    }

    @Test("connect (the echo client)", arguments: BrokenStdout.allCases)
    func connect(stdout: BrokenStdout) throws {
        try withServer(["serve", "multi", "127.0.0.1", "0", "-q"]) { _, port in
            try expectOutputError(stdout.script(["connect", "127.0.0.1", String(port), "-q"]))
        }
    }

    @Test("connect -m -: the peer's bytes cannot be delivered", arguments: BrokenStdout.allCases)
    func relay(stdout: BrokenStdout) throws {
        try withServer(["serve", "multi", "127.0.0.1", "0", "-q"]) { _, port in
            let script = stdout.script(["connect", "127.0.0.1", String(port), "-m", "-"])
            try expectOutputError("printf 'echo me' | { \(script); }")
        }
    }

    @Test("stdout on /dev/null is a choice, not a failure")
    func devNullIsFine() throws {
        try withServer(["serve", "app", "127.0.0.1", "0", "-q"]) { _, port in
            let child = try shell("exec \"$0\" search 127.0.0.1 \(port) morpheus > /dev/null")
            #expect(try child.waitForExit() == 0, "\(child.transcript)")
        }
    }

    private func expectOutputError(_ script: String) throws {
        let child = try shell(script)
        #expect(try child.waitForExit(timeout: .seconds(20)) == 74, "\(script): \(child.transcript)")
        #expect(child.stderrText.contains("cannot write stdout"), "\(child.transcript)")
        #expect(child.stderrText.contains("the connection was fine"), "\(child.transcript)")
    }
}
