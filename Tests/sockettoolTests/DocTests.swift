// DocTests.swift -- docs that cannot drift: every command block of README.md, docs/tutorial.md and
// docs/flood.md is run, and what it prints is compared with what the doc shows.
//
// The convention (for everyone who writes a transcript):
// - A fenced block whose first line starts with `$ ` is a command block. Each `$ ` line is a command, run
//   by /bin/sh from a scratch copy of the repository (its top-level entries linked, so
//   `python3 Tests/Interop/guide_peer.py` works; files a command writes land in the scratch), with the
//   freshly built sockettool first on PATH. The lines under it, up to the next `$ ` line, are its output:
//   stdout and stderr together, as a terminal shows them (but on a pipe: no live line, no colour). Other
//   fences (```sh set-up steps, ```swift, diagrams) are not run.
// - `$ echo $?` prints the status of the command before it. A command that exits non-zero must be
//   followed by one; the doc shows the status a user will get.
// - The doc's port is 65432, as in the guide. Each run uses a free port instead (in every command) and
//   writes 65432 back into the output, so docs run in parallel and never touch a fixed port.
// - Volatile values are normalised on both sides (DocNormalisation.normalise): rates (a zero rate stays
//   zero), durations, ports other than 65432, pids, EAGAIN counts, what flood's kernel took after the first
//   EAGAIN, JSON members holding a time or a rate, runs of blanks.
//   A line that is exactly `...` matches any number of lines (none too): for progress lines whose count
//   depends on timing.
// - TIME_WAIT lines the run lacks, and nothing else, while the kernel's TIME_WAIT table overflowed during
//   the doc's run (TimeWaitWatch: a bench beside the suite fills it), are a known issue, not a failure.
// - A directive on the line(s) before the fence, `<!-- doctest: OPTIONS -->` (invisible on GitHub),
//   with OPTIONS joined by commas:
//     `background`                 the block's one command is a server (terminal 1): started in the
//                                  background, ready at its first line; its output is compared when it
//                                  is stopped, so it shows the lines later blocks' clients cause.
//     `background until "TEXT"`    ready at the first line containing TEXT instead.
//     `stop after "TEXT"`          (with background) send its Ctrl-C only once a line containing TEXT
//                                  came: a server that reacts to its client's end first.
//     `unordered`                  the lines may come in any order (concurrent connections).
//     `numbers`                    every number in the block is run-dependent (queue sizes, counts).
//     `not compared: REASON`       run it (statuses checked) but do not compare the output.
//     `not run: REASON`            do not run it (it needs a terminal, another machine, ...).
//   And two actions, on a line of their own:
//     `<!-- doctest: start COMMAND -->`  start a server the prose mentions but no block shows
//                                        (`until "TEXT"` works here too); its output is not compared.
//     `<!-- doctest: stop -->`           Ctrl-C (SIGINT) to every background command, newest first,
//                                        then compare the background blocks. The end of a file stops too.
// - A block that needs a program that is not installed (netstat, say) is not run, and says so.
//   Every test run prints how many commands it compared and lists the blocks not run or not compared.
//
// After changing what a command prints on purpose, rewrite the transcripts that no longer match with
//
//     SOCKETTOOL_RECORD_DOCS=1 swift test --filter DocTests
//
// and review `git diff README.md docs/`: only the commands whose output differs are rewritten (with this
// run's ports and timings, and without any `...`: put those back where the count varies).
import Foundation
import Testing

@Suite("Docs: every transcript is what the tool prints")
struct DocTests {
    static let documents = ["README.md", "docs/tutorial.md", "docs/flood.md"]

    @Test("the doc's command blocks print what the doc shows", .timeLimit(.minutes(10)), arguments: documents)
    func transcripts(document: String) throws {
        let url = ContractPaths.packageRoot.appendingPathComponent(document)
        let markdown = try String(contentsOf: url, encoding: .utf8)
        let script = try DocScript(file: document, markdown: markdown)
        #expect(!script.blocks.isEmpty, "\(document) has no command blocks")
        let report = try DocSession(script: script).run()
        print("\(document): \(report.summary)")
        if environmentFlag("SOCKETTOOL_RECORD_DOCS"), !report.rewrites.isEmpty {
            try Data(rewritten(script.lines, report.rewrites).joined(separator: "\n").utf8).write(to: url)
            print("\(document): rewrote \(report.rewrites.count) transcripts; review with git diff")
            return
        }
        for failure in report.failures { Issue.record(Comment(rawValue: failure)) }
        for issue in report.knownIssues {
            withKnownIssue(Comment(rawValue: issue.reason), isIntermittent: true) {
                Issue.record(Comment(rawValue: issue.message))
            }
        }
    }

    /// `lines` with each range replaced by its new lines (ranges never overlap).
    private func rewritten(_ lines: [String], _ rewrites: [(lines: Range<Int>, actual: [String])]) -> [String] {
        var result = lines
        for rewrite in rewrites.sorted(by: { $0.lines.lowerBound > $1.lines.lowerBound }) {
            result.replaceSubrange(rewrite.lines, with: rewrite.actual)
        }
        return result
    }

    // MARK: - The harness itself

    @Test("directives set a block's options; start and stop are steps; typos are refused")
    func parsing() throws {
        let markdown = """
            Text.

            <!-- doctest: background until "Listening", unordered -->
            ```
            $ sockettool serve multi 127.0.0.1 65432
            Listening on 127.0.0.1:65432
            ```

            <!-- doctest: start sockettool serve app 127.0.0.1 65432 -q -->
            <!-- doctest: not compared: the order, depends, on timing -->
            ```
            $ sockettool connect 127.0.0.1 65432
            Received b'Hello, world'
            $ echo $?
            0
            ```
            <!-- doctest: stop -->
            ```sh
            make run
            ```
            """
        let script = try DocScript(file: "x.md", markdown: markdown)
        #expect(script.steps.count == 4)
        let blocks = script.blocks
        #expect(blocks.count == 2)
        #expect(blocks[0].options == DocBlockOptions(background: true, until: "Listening", unordered: true))
        #expect(blocks[0].commands.map(\.expected) == [["Listening on 127.0.0.1:65432"]])
        #expect(blocks[1].options.notCompared == "the order, depends, on timing")
        #expect(blocks[1].commands.map(\.text) == ["sockettool connect 127.0.0.1 65432", "echo $?"])
        #expect(blocks[1].commands[0].line == 12)
        #expect(blocks[1].commands[0].expectedLines == 12..<13)
        guard case .start(let command, _, _) = script.steps[1] else {
            Issue.record("step 2 is not a start")
            return
        }
        #expect(command == "sockettool serve app 127.0.0.1 65432 -q")

        for broken in [
            "<!-- doctest: backgound -->\n```\n$ true\n```",
            "<!-- doctest: numbers -->\nprose\n```\n$ true\n```",
            "<!-- doctest: numbers -->\n```\nno command\n```",
            "<!-- doctest: background -->\n```\n$ true\n$ true\n```",
            "<!-- doctest: not run: -->\n```\n$ true\n```",
            "<!-- doctest:numbers -->",
        ] {
            #expect(throws: DocSyntaxError.self, "\(broken)") { try DocScript(file: "x.md", markdown: broken) }
        }
    }

    @Test("run-dependent values are normalised on both sides; the documented port and zero rates are kept")
    func normalisation() {
        let cases: [(String, String)] = [
            ("Connected by 127.0.0.1:38940", "Connected by 127.0.0.1:<port>"),
            ("Listening on 127.0.0.1:65432", "Listening on 127.0.0.1:65432"),
            ("Accepted connection from ('127.0.0.1', 57988)", "Accepted connection from ('127.0.0.1', <port>)"),
            ("Connected by [::1]:40000", "Connected by [::1]:<port>"),
            ("ss -tn '( sport = :42119 or dport = :42119 )'", "ss -tn '( sport = :<port> or dport = :<port> )'"),
            ("Sent 12 bytes, received 12 bytes in 0.000 s.", "Sent 12 bytes, received 12 bytes in <time>."),
            (
                "Connected to 127.0.0.1:65432 from 127.0.0.1:58034 in 92 µs",
                "Connected to 127.0.0.1:65432 from 127.0.0.1:<port> in <time>"
            ),
            ("[1.0 s] 6,368 req/s  2.1 MB/s  6,376 done", "[<time>] <rate> <rate> 6,376 done"),
            ("[1.0 s] 6,368 req/s  0.0 MB/s  6,376 done", "[<time>] <rate> 0.0 MB/s 6,376 done"),
            ("  throughput  520.0 MB/s (4.16 Gbit/s) echoed", " throughput <rate> (<rate>) echoed"),
            ("users:((\"sockettool\",pid=6287,fd=5))", "users:((\"sockettool\",pid=<pid>,fd=5))"),
            (
                #"{"bytes": 12, "seconds": 0.003186, "latency_p50_us": 1114.111, "requests": 1000}"#,
                #"{"bytes": 12, "seconds": <n>, "latency_p50_us": <n>, "requests": 1000}"#
            ),
            (
                "LISTEN 0      4096       127.0.0.1:65432      0.0.0.0:*          ",
                "LISTEN 0 4096 127.0.0.1:65432 0.0.0.0:*"
            ),
        ]
        for (line, expected) in cases {
            #expect(DocNormalisation.normalise(line) == expected, "\(line)")
        }
        #expect(
            DocNormalisation.normalise("Recv-Q 128,512 (+15,360), 0 left", numbers: true) == "Recv-Q N (+N), N left"
        )
        #expect(DocNormalisation.documentingPort("Listening on 127.0.0.1:61234", runPort: 61234).hasSuffix(":65432"))
        #expect(DocNormalisation.documentingPort("sent 612345 bytes", runPort: 61234) == "sent 612345 bytes")
    }

    @Test("flood's two sentences on what the kernel took after the first EAGAIN compare equal; the byte count does not")
    func eagainTimeline() {
        let later =
            "send() first said EAGAIN after 3,910,656 bytes (at 188 µs); 380,928 more were accepted later, as "
            + "acknowledgements freed room in the send buffer."
        let nothing = "send() said EAGAIN after 3,910,656 bytes (at 0.50 s) and took nothing more."
        let otherCount = "send() said EAGAIN after 10,240 bytes (at 0.50 s) and took nothing more."
        #expect(DocNormalisation.normalise(later) == DocNormalisation.normalise(nothing))
        #expect(DocNormalisation.normalise(later) != DocNormalisation.normalise(otherCount))
    }

    @Test("a line `...` matches any number of lines; everything else line for line")
    func ellipsis() {
        #expect(DocNormalisation.matches(["a", "...", "d"], ["a", "b", "c", "d"]))
        #expect(DocNormalisation.matches(["a", "...", "d"], ["a", "d"]))
        #expect(DocNormalisation.matches(["..."], []))
        #expect(!DocNormalisation.matches(["a", "...", "d"], ["a", "b"]))
        #expect(!DocNormalisation.matches(["a", "b"], ["a", "b", "c"]))
        #expect(!DocNormalisation.matches(["a", "b"], ["b", "a"]))
    }

    @Test("the kernel-table excuses cover only what they name: TIME_WAIT rows missing, netstat rows doubled")
    func kernelTableExcuses() {
        let doc = [
            "State Recv-Q Send-Q Local Address:Port Peer Address:Port Process",
            "LISTEN N N N.N:N N.N:*",
            "TIME-WAIT N N N.N:<port> N.N:N",
        ]
        let noRows = ["State Recv-Q Send-Q Local Address:Port Peer Address:PortProcess", "LISTEN N N N.N:N N.N:*"]
        #expect(DocNormalisation.onlyTimeWaitLinesMissing(doc, noRows, unordered: false))
        #expect(!DocNormalisation.onlyTimeWaitLinesMissing(doc, doc, unordered: false))
        #expect(
            !DocNormalisation.onlyTimeWaitLinesMissing(doc, [noRows[0], "LISTEN N N N.N:N N.N:N"], unordered: false)
        )
        #expect(!DocNormalisation.onlyTimeWaitLinesMissing(doc, [noRows[0]], unordered: true))

        let established = ["tcp N N N.N:<port> N.N:N ESTABLISHED", "tcp N N N.N:N N.N:<port> ESTABLISHED"]
        let doubled = established + [established[1]]
        #expect(DocNormalisation.onlyDuplicateLinesAdded(established, doubled, unordered: true))
        #expect(!DocNormalisation.onlyDuplicateLinesAdded(established, established, unordered: true))
        #expect(
            !DocNormalisation.onlyDuplicateLinesAdded(established, [established[0], established[0]], unordered: true)
        )
        #expect(!DocNormalisation.onlyDuplicateLinesAdded(established, doubled + ["tcp N N"], unordered: true))
    }

    @Test("a drifted transcript fails, a true one passes: output, statuses, servers, hidden servers")
    func driftIsCaught() throws {
        let version = try ChildProcess.sockettool(["--version"]).stdout
        let truthful = """
            <!-- doctest: background -->
            ```
            $ sockettool serve echo 127.0.0.1 65432 --keep
            Listening on 127.0.0.1:65432
            Connected by 127.0.0.1:40000
            Closing connection to 127.0.0.1:40000
            Caught keyboard interrupt, exiting
            ```

            ```
            $ sockettool connect 127.0.0.1 65432
            Received b'Hello, world'
            Sent 12 bytes, received 12 bytes in 0.001 s.
            $ sockettool --version
            \(version)
            ```
            <!-- doctest: stop -->

            ```
            $ sockettool connect 127.0.0.1 65432 -q
            error: connect(127.0.0.1:65432): Connection refused
            ...
            $ echo $?
            69
            ```
            """
        let good = try DocSession(script: DocScript(file: "good.md", markdown: truthful)).run()
        #expect(good.failures.isEmpty, "\(good.failures.joined(separator: "\n"))")
        #expect(good.compared == 5)

        let drifts: [(String, String)] = [
            ("Received b'Hello, world'", "Received b'Hello, World'"),
            ("Closing connection to 127.0.0.1:40000\n", ""),
            ("$ echo $?\n69", "$ echo $?\n1"),
            ("$ echo $?\n69\n", ""),
            ("\(version)\n", "\(version)\nextra line\n"),
        ]
        for (from, to) in drifts {
            let drifted = truthful.replacingOccurrences(of: from, with: to)
            #expect(drifted != truthful)
            let bad = try DocSession(script: DocScript(file: "bad.md", markdown: drifted)).run()
            #expect(!bad.failures.isEmpty, "not caught: \(from.debugDescription) → \(to.debugDescription)")
        }
    }

    @Test("a doc's commands run in a scratch directory: what they write stays out of the checkout, which they read")
    func scratchDirectory() throws {
        let name = "doctest-scratch-\(getpid())-\(UInt32.random(in: 0...UInt32.max)).txt"
        // A file of that name in the checkout (as the tutorial's notes.txt once was) must not be written.
        let inCheckout = ContractPaths.packageRoot.appendingPathComponent(name)
        try Data("the checkout's\n".utf8).write(to: inCheckout)
        defer { try? FileManager.default.removeItem(at: inCheckout) }
        let markdown = """
            ```
            $ printf 'line one\\n' > \(name)
            $ cat \(name)
            line one
            $ ls docs/search.pcap Tests/Interop/guide_peer.py
            Tests/Interop/guide_peer.py
            docs/search.pcap
            ```
            """
        var scratch: URL?
        do {
            let session = try DocSession(script: DocScript(file: "scratch.md", markdown: markdown))
            scratch = session.directory
            let report = session.run()
            #expect(report.failures.isEmpty, "\(report.failures.joined(separator: "\n"))")
            #expect(report.compared == 3)
        }
        #expect(try String(contentsOf: inCheckout, encoding: .utf8) == "the checkout's\n")
        if let scratch { #expect(!FileManager.default.fileExists(atPath: scratch.path), "scratch left behind") }
    }

    @Test("the programs of a command line: each part of a pipeline, after assignments, not redirections")
    func programsOfACommand() {
        #expect(
            DocSession.programs(in: "printf 'hello' | sockettool connect 127.0.0.1 1 -m - 2>&1 | cat -v; echo") == [
                "printf", "sockettool", "cat", "echo",
            ]
        )
        #expect(DocSession.programs(in: "NO_COLOR=1 sockettool flood > out.txt && ss -tn") == ["sockettool", "ss"])
    }
}
