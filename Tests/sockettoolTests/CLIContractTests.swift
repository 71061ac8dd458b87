// CLIContractTests.swift -- the command line's promises to its users: help text (snapshotted), the
// version, and every command docs/tutorial.md shows still parsing.
//
// Help snapshots live in Tests/sockettoolTests/Snapshots/<command>.txt ("root", "serve-echo", ...),
// taken on a pipe with COLUMNS=80 (argument-parser wraps at $COLUMNS, else the terminal's width, else
// 80); the epoll pass of `make test` checks they do not depend on SOCKETTOOL_BACKEND. After changing a
// help text on purpose, rewrite them with
//
//     SOCKETTOOL_RECORD_SNAPSHOTS=1 swift test --filter CLIContract
//
// and review the change with `git diff Tests/sockettoolTests/Snapshots`. Without the variable a
// difference fails the test and prints a line diff.
//
// The rest of the contract: CLIContractExitStatusTests (exit statuses and error lines),
// CLIContractJSONTests (--json), CLIContractColourTests (NO_COLOR, pipes, terminals),
// CLIContractInstallTests (make install; only with SOCKETTOOL_SLOW_TESTS=1).
import Foundation
import Testing

@testable import sockettool

@Suite("CLI contract: help, version, the tutorial's commands")
struct CLIContractTests {
    // MARK: - Help

    @Test("--help matches its snapshot, has an example, exits 0", arguments: HelpCommand.all)
    func helpSnapshot(command: HelpCommand) throws {
        let run = try runSockettool(command.words + ["--help"])
        #expect(run.status == 0, "\(run.transcript)")
        #expect(run.stderr.isEmpty, "\(run.transcript)")
        try expectSnapshot(run.stdout + "\n", named: command.snapshotName)
        #expect(!containsEscape(run.stdout))
        #expect(run.stdout.contains("Example"), "no 'Example' in \(command.testDescription)")
    }

    @Test("the snapshotted commands are exactly the ones --help lists, and no snapshot is stale")
    func subcommandsListed() throws {
        var found: [HelpCommand] = []
        var queue: [[String]] = [[]]
        while let words = queue.first {
            queue.removeFirst()
            found.append(HelpCommand(words: words))
            let run = try runSockettool(words + ["--help"])
            #expect(run.status == 0, "\(run.transcript)")
            queue += listedSubcommands(inHelp: run.stdout).map { words + [$0] }
        }
        #expect(Set(found) == Set(HelpCommand.all), "listed: \(found.map(\.testDescription))")

        guard !environmentFlag("SOCKETTOOL_RECORD_SNAPSHOTS") else { return }
        let files = try FileManager.default.contentsOfDirectory(atPath: ContractPaths.snapshots.path)
            .filter { $0.hasSuffix(".txt") }
        #expect(Set(files) == Set(HelpCommand.all.map { $0.snapshotName + ".txt" }), "stale or missing snapshots")
    }

    @Test("help does not depend on the terminal: on a pipe without COLUMNS it is the 80-column snapshot")
    func helpWidthOnAPipe() throws {
        // COLUMNS="" counts as unset for argument-parser; a pipe reports no width, so 80 is used.
        let unset = try runSockettool(
            ["serve", "app", "--help"],
            environment: ["COLUMNS": ""]
        )
        let pinned = try runSockettool(["serve", "app", "--help"])
        #expect(unset.status == 0)
        #expect(unset.stdout == pinned.stdout, "\(lineDiff(from: pinned.stdout, to: unset.stdout))")
        // And COLUMNS is honoured, so the snapshots must pin it.
        let wide = try runSockettool(
            ["serve", "app", "--help"],
            environment: ["COLUMNS": "140"]
        )
        #expect(wide.stdout != pinned.stdout)
    }

    @Test("`sockettool help serve echo` is `sockettool serve echo --help`")
    func helpSubcommand() throws {
        let viaHelp = try runSockettool(["help", "serve", "echo"])
        let viaFlag = try runSockettool(["serve", "echo", "--help"])
        #expect(viaHelp.status == 0)
        #expect(viaHelp.stdout == viaFlag.stdout, "\(lineDiff(from: viaFlag.stdout, to: viaHelp.stdout))")
    }

    @Test("--version prints a version number and exits 0")
    func version() throws {
        let run = try runSockettool(["--version"])
        #expect(run.status == 0, "\(run.transcript)")
        #expect(run.stdoutLines.count == 1, "\(run.transcript)")
        #expect(run.stdout.wholeMatch(of: /[0-9]+\.[0-9]+\.[0-9]+([-+][0-9A-Za-z.-]+)?/) != nil, "\(run.stdout)")
        #expect(run.stderr.isEmpty)
    }

    // MARK: - Tutorial check

    /// Every `$ sockettool ...` line inside a code block of docs/tutorial.md must parse (argument-parser's
    /// own parse and validation, nothing is run), unless the tutorial shows it failing with status 64.
    /// The ones that need no peer also run for real: --help, --version, the one-process flood demo, and
    /// the usage errors, whose status must be the one the tutorial shows.
    @Test("Tutorial check: every `$ sockettool` line of docs/tutorial.md parses; server-free ones run")
    func tutorialCommandsParse() throws {
        let markdown = try String(contentsOf: ContractPaths.tutorial, encoding: .utf8)
        let commands = try tutorialCommands(in: markdown)
        #expect(commands.count >= 20, "the marker found only \(commands.count) commands")
        for command in commands {
            let failure: String?
            do {
                _ = try SocketTool.parseAsRoot(command.arguments)
                failure = nil
            } catch {
                // --help and --version end parsing with a clean exit: they parse.
                let exit = SocketTool.exitCode(for: error)
                failure = exit == .success ? nil : "exit \(exit.rawValue): \(SocketTool.message(for: error))"
            }
            if let failure, command.documentedStatus != 64 {
                Issue.record("\(command) does not parse (\(failure))")
            }
        }
        // Commands that need no server.
        let standalone = commands.filter { command in
            let words = command.arguments
            if words.contains("--help") || words == ["--version"] || command.documentedStatus == 64 { return true }
            return words.first == "flood" && (words.count == 1 || words[1].hasPrefix("-"))
                && !words.contains("--hold") && !words.contains("--plot")
        }
        #expect(standalone.count >= 3, "\(standalone)")
        for command in standalone {
            let run = try runSockettool(command.arguments, timeout: .seconds(20))
            #expect(run.status == (command.documentedStatus ?? 0), "\(command)\n\(run.transcript)")
        }
    }

    @Test("the tutorial's command lines split as the shell splits them")
    func shellWordSplitting() throws {
        #expect(try shellWords(" serve app '' 65432 &") == ["serve", "app", "", "65432"])
        #expect(
            try shellWords(" search 127.0.0.1 65432 --binary 😃") == ["search", "127.0.0.1", "65432", "--binary", "😃"]
        )
        #expect(try shellWords(" connect 127.0.0.1 1 2>&1 | cat") == ["connect", "127.0.0.1", "1"])
        #expect(try shellWords(#" connect -m "two words""#) == ["connect", "-m", "two words"])
        #expect(try shellWords(" flood --json > out.ndjson") == ["flood", "--json"])
    }
}
