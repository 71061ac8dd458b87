// CLIContractColourTests.swift -- colour and escape codes: none with NO_COLOR, TERM=dumb or --color never,
// none on a pipe, on a terminal only when allowed, and always with --color always.
import Foundation
import Glibc
import SocketCore
import Testing

/// One way of asking for no colour.
struct NoColourSetting: CustomTestStringConvertible, Sendable {
    let name: String
    let environment: [String: String]
    let flags: [String]
    var testDescription: String { name }

    static let all = [
        NoColourSetting(name: "NO_COLOR=1", environment: ["NO_COLOR": "1"], flags: []),
        NoColourSetting(name: "TERM=dumb", environment: ["TERM": "dumb"], flags: []),
        NoColourSetting(name: "--color never", environment: [:], flags: ["--color", "never"]),
    ]
}

@Suite("CLI contract: colour only where it belongs")
struct CLIContractColourTests {
    @Test("piped output has no ESC byte: errors, servers, clients, load, flood", arguments: NoColourSetting.all)
    func pipedOutputIsPlain(setting: NoColourSetting) throws {
        var outputs: [(what: String, run: FinishedRun)] = []
        func record(_ what: String, _ arguments: [String]) throws {
            outputs.append((what, try runSockettool(arguments + setting.flags, environment: setting.environment)))
        }
        func startServer(_ arguments: [String]) throws -> (ChildProcess, UInt16) {
            let server = try ChildProcess(
                sockettool: arguments + setting.flags,
                environment: contractEnvironment.merging(setting.environment) { $1 }
            )
            return (server, try server.listeningPort())
        }

        let closed = try ClosedPort()
        try withExtendedLifetime(closed) {
            try record("refused connect", ["connect", "127.0.0.1", String(closed.port)])
        }
        #expect(outputs[0].run.status == 69)
        #expect(outputs[0].run.stderr.contains("error: "), "\(outputs[0].run.transcript)")

        let (app, appPort) = try startServer(["serve", "app", "127.0.0.1", "0"])
        try record("search morpheus", ["search", "127.0.0.1", String(appPort), "morpheus"])
        try record("search 🐶", ["search", "127.0.0.1", String(appPort), "🐶"])
        try record("search --count", ["search", "127.0.0.1", String(appPort), "x", "--count", "20"])
        app.send(SIGTERM)
        #expect(try app.waitForExit() == 0)
        let appOutput = (app.stdoutLines + (try app.remainingLines())).joined(separator: "\n") + app.stderrText
        #expect(!containsEscape(appOutput), "serve app: \(appOutput.debugDescription)")

        let (multi, multiPort) = try startServer(["serve", "multi", "127.0.0.1", "0", "-q"])
        try record("connect --duration", ["connect", "127.0.0.1", String(multiPort), "--duration", "0.5"])
        multi.send(SIGTERM)
        #expect(try multi.waitForExit() == 0)

        try record("flood", ["flood", "--sndbuf", "4096", "--rcvbuf", "4096"])
        for (what, run) in outputs {
            #expect(run.status == (what == "refused connect" ? 69 : 0), "\(what)\n\(run.transcript)")
            #expect(!containsEscape(run.stdout), "\(what) stdout: \(run.stdout.debugDescription)")
            #expect(!containsEscape(run.stderr), "\(what) stderr: \(run.stderr.debugDescription)")
        }
    }

    @Test("--color always colours the error label, even piped and with NO_COLOR; never the JSON")
    func colourAlways() throws {
        let closed = try ClosedPort()
        try withExtendedLifetime(closed) {
            for environment in [[:], ["NO_COLOR": "1"]] {
                let run = try runSockettool(
                    ["connect", "127.0.0.1", String(closed.port), "--color", "always"],
                    environment: environment
                )
                #expect(run.status == 69)
                let errorLine = try #require(run.stderrLines.first { $0.contains("error:") }, "\(run.transcript)")
                #expect(containsColour(errorLine), "\(errorLine.debugDescription)")
            }
            let json = try runSockettool(["connect", "127.0.0.1", String(closed.port), "--color", "always", "--json"])
            #expect(json.status == 69)
            #expect(!containsEscape(json.stdout), "\(json.stdout.debugDescription)")
            expectNDJSON(json.stdoutLines, "connect --color always --json")
        }
    }

    // MARK: - On a terminal

    @Test(
        "on a terminal: colour by default; none with NO_COLOR, TERM=dumb or --color never",
        .enabled(if: scriptPath != nil, "util-linux `script` is needed for a pseudo-terminal")
    )
    func terminal() throws {
        let closed = try ClosedPort()
        try withExtendedLifetime(closed) {
            let arguments = ["connect", "127.0.0.1", String(closed.port)]
            // The control: with colour allowed the pty run is coloured, so the other runs mean something.
            let coloured = try runOnTerminal(arguments, environment: [:])
            #expect(coloured.status == 69)
            #expect(containsColour(coloured.output), "\(coloured.output.debugDescription)")
            for setting in NoColourSetting.all {
                let plain = try runOnTerminal(arguments + setting.flags, environment: setting.environment)
                #expect(plain.status == 69, "\(setting.name)")
                #expect(plain.output.contains("error: "), "\(setting.name): \(plain.output.debugDescription)")
                #expect(!containsEscape(plain.output), "\(setting.name): \(plain.output.debugDescription)")
            }
        }
    }

    @Test(
        "on a terminal, progress lines: there, without colour with NO_COLOR, and without any escape with TERM=dumb",
        .enabled(if: scriptPath != nil, "util-linux `script` is needed for a pseudo-terminal")
    )
    func terminalProgress() throws {
        let flood = ["flood", "--sndbuf", "4096", "--rcvbuf", "4096"]
        // flood's live line: "\r 0.10 s  accepted 12,288  Send-Q 8,192  Recv-Q 4,096 ..."; its interval lines,
        // printed instead where no line can be redrawn: "  0.257 s  accepted 12,288  Send-Q 8,192 ...".
        let floodProgress = /\d+\.\d{2,3} s  accepted [\d,]+  Send-Q/
        let noColour = try runOnTerminal(flood, environment: ["NO_COLOR": "1"])
        #expect(noColour.status == 0, "\(noColour.output)")
        #expect(noColour.output.contains(floodProgress), "no progress line: \(noColour.output.debugDescription)")
        #expect(!containsColour(noColour.output), "\(noColour.output.debugDescription)")

        // A dumb terminal cannot erase a line: progress must not send it ESC [ K or ESC [ 2 K, and comes as
        // plain lines instead ("[1.0 s] ..." once a second for a load run).
        let dumbFlood = try runOnTerminal(flood, environment: ["TERM": "dumb"])
        #expect(dumbFlood.status == 0, "\(dumbFlood.output)")
        let dumbLoad = try withServer(["serve", "multi", "127.0.0.1", "0", "-q"]) { server, port in
            defer { server.send(SIGTERM) }
            return try runOnTerminal(
                ["connect", "127.0.0.1", String(port), "--duration", "1.3"],
                environment: ["TERM": "dumb"]
            )
        }
        #expect(dumbLoad.status == 0, "\(dumbLoad.output)")
        #expect(dumbLoad.output.contains(/\[1\.\d s\] [\d,]+ chunks\/s/), "no progress line: \(dumbLoad.output)")
        #expect(dumbFlood.output.contains(floodProgress), "no progress line: \(dumbFlood.output)")
        for (what, run) in [("flood", dumbFlood), ("connect --duration", dumbLoad)] {
            let escapes = run.output.matches(of: /\u{1B}\[[0-9;]*[A-Za-z]/).map { String(run.output[$0.range]) }
            #expect(escapes.isEmpty, "\(what) sent to TERM=dumb: \(Set(escapes).sorted().debugDescription)")
        }
    }
}
