// DocSession.swift -- runs a doc's steps as a reader would type them: each `$ ` line through sh, in a
// scratch directory that looks like the repository, with the freshly built sockettool first on PATH, on a
// free port that stands in for the doc's 65432; then compares what came back with the doc.
import Foundation
import Glibc
import Testing

/// What a doc run found: the mismatches, and the blocks that were not run or not compared (and why).
struct DocRunReport {
    var failures: [String] = []
    /// Mismatches the kernel explains (TIME_WAIT lines missing while its TIME_WAIT table overflowed), with why.
    var knownIssues: [(reason: String, message: String)] = []
    var compared = 0
    var notRun: [String] = []
    var notCompared: [String] = []
    /// Replacements for SOCKETTOOL_RECORD_DOCS=1: the expected lines of a command, and what ran.
    var rewrites: [(lines: Range<Int>, actual: [String])] = []

    var summary: String {
        var text = "\(compared) commands compared, \(notRun.count) blocks not run, \(notCompared.count) not compared"
        for entry in notRun { text += "\n  not run: " + entry }
        for entry in notCompared { text += "\n  not compared: " + entry }
        return text
    }
}

/// One run of a doc's steps.
final class DocSession {
    private let script: DocScript
    /// Stands in for 65432 in every command; written back as 65432 in every output.
    let port: Int
    /// The scratch directory the commands run in.
    let directory: URL
    private let environment: [String: String]
    private var report = DocRunReport()
    /// Read before the first step: a doc's TIME_WAIT lines can go missing when a busy machine fills the table.
    private let timeWaitWatch = TimeWaitWatch()
    /// The exit status `$ echo $?` prints.
    private var lastStatus: Int32 = 0
    /// Background commands, oldest first: a server block (compared when stopped) or a `start` (never).
    private var background: [(child: ChildProcess, command: DocCommand?, options: DocBlockOptions, what: String)] = []

    init(script: DocScript) throws {
        self.script = script
        port = try DocSession.freePort()
        directory = try DocSession.scratchRepository()
        let binaries = URL(fileURLWithPath: ChildProcess.sockettool).deletingLastPathComponent().path
        let path = ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin"
        environment = contractEnvironment.merging(["PATH": binaries + ":" + path, "PYTHONUNBUFFERED": "1"]) { $1 }
    }

    deinit {
        for entry in background.reversed() { entry.child.send(SIGKILL) }
        try? FileManager.default.removeItem(at: directory)
    }

    /// Runs every step; returns what it found.
    func run() -> DocRunReport {
        for step in script.steps {
            switch step {
            case .block(let block): run(block)
            case .start(let command, let until, let line):
                let entry = DocCommand(line: line, text: command, expected: [], expectedLines: line..<line)
                start(entry, options: DocBlockOptions(until: until), compared: false)
            case .stop: stopBackground()
            }
        }
        stopBackground()
        return report
    }

    // MARK: - Blocks

    private func run(_ block: DocBlock) {
        let place = "\(script.file):\(block.line)"
        if let reason = block.options.notRun {
            report.notRun.append("\(place): \(reason)")
            return
        }
        if let missing = block.commands.lazy.flatMap({ Self.programs(in: $0.text) }).first(where: { !isInstalled($0) })
        {
            report.notRun.append("\(place): needs \(missing), which is not installed")
            return
        }
        if let reason = block.options.notCompared { report.notCompared.append("\(place): \(reason)") }
        if block.options.background {
            start(block.commands[0], options: block.options, compared: block.options.notCompared == nil)
            return
        }
        for (index, command) in block.commands.enumerated() {
            if command.isStatusEcho {
                compare(command, actual: [String(lastStatus)], options: DocBlockOptions())
                continue
            }
            let actual: [String]
            do {
                let child = try shell(runnable(command.text))
                lastStatus = try child.waitForExit(timeout: .seconds(90))
                actual = child.stdoutLines + (try child.remainingLines())
            } catch {
                report.failures.append("\(script.file):\(command.line): `\(command.text)`: \(error)")
                lastStatus = -1
                continue
            }
            let nextShowsStatus = block.commands.indices.contains(index + 1) && block.commands[index + 1].isStatusEcho
            if lastStatus != 0 && !nextShowsStatus {
                report.failures.append(
                    "\(script.file):\(command.line): `\(command.text)` exited \(lastStatus), and no `$ echo $?` "
                        + "follows to show it:\n" + actual.joined(separator: "\n")
                )
            }
            if block.options.notCompared == nil { compare(command, actual: actual, options: block.options) }
        }
    }

    /// Starts a background command and waits until it is ready: its first line, or one containing `until`.
    private func start(_ command: DocCommand, options: DocBlockOptions, compared: Bool) {
        do {
            let child = try shell("exec " + runnable(command.text))
            _ = try child.waitForLine(timeout: .seconds(30)) { line in options.until.map(line.contains) ?? true }
            background.append((child, compared ? command : nil, options, command.text))
        } catch {
            report.failures.append("\(script.file):\(command.line): `\(command.text)` did not start: \(error)")
        }
    }

    /// Ctrl-C to each background command, newest first (a client before its server), then compares.
    private func stopBackground() {
        while let entry = background.popLast() {
            if let text = entry.options.stopAfter,
                !entry.child.stdoutLines.contains(where: { $0.contains(text) }),
                (try? entry.child.waitForLine(timeout: .seconds(30)) { $0.contains(text) }) == nil
            {
                report.failures.append("\(script.file): `\(entry.what)` never printed \"\(text)\" before its Ctrl-C")
            }
            if let command = entry.command { waitForLinesBeforeInterrupt(of: command, from: entry.child) }
            entry.child.send(SIGINT)
            let actual: [String]
            do {
                _ = try entry.child.waitForExit(timeout: .seconds(30))
                actual = entry.child.stdoutLines + (try entry.child.remainingLines())
            } catch {
                entry.child.send(SIGKILL)
                report.failures.append("\(script.file): `\(entry.what)` did not stop on SIGINT: \(error)")
                continue
            }
            if let command = entry.command { compare(command, actual: actual, options: entry.options) }
        }
    }

    /// A server documented with its Ctrl-C ("Caught ...") shows what it printed before it: wait, within a
    /// generous deadline, until it has printed that many lines. On a busy machine the client of the block
    /// before can be gone while its server has not yet logged the close, and the Ctrl-C would cut that line.
    private func waitForLinesBeforeInterrupt(of command: DocCommand, from child: ChildProcess) {
        guard let interrupted = command.expected.firstIndex(where: { $0.hasPrefix("Caught ") }) else { return }
        let deadline = ContinuousClock.now + .seconds(30)
        while child.stdoutLines.count < interrupted {
            let remaining = deadline - ContinuousClock.now
            guard remaining > .zero, (try? child.nextLine(timeout: remaining)) != nil else { return }
        }
    }

    // MARK: - Comparing

    private func compare(_ command: DocCommand, actual raw: [String], options: DocBlockOptions) {
        report.compared += 1
        let actual = DocNormalisation.trimmingTrailingBlanks(
            raw.map { DocNormalisation.documentingPort($0, runPort: port) }
        )
        let expected = DocNormalisation.trimmingTrailingBlanks(command.expected)
        let normalisedActual = actual.map { DocNormalisation.normalise($0, numbers: options.numbers) }
        let normalisedExpected = expected.map { DocNormalisation.normalise($0, numbers: options.numbers) }
        let same: Bool
        if options.unordered {
            same = normalisedExpected.sorted() == normalisedActual.sorted()
        } else {
            same = DocNormalisation.matches(normalisedExpected, normalisedActual)
        }
        guard !same else { return }
        let message = """
            \(script.file):\(command.line): `\(command.text)` printed something else \
            (normalised; '-' the doc, '+' the run\(options.unordered ? ", in any order" : "")):
            \(lineDiff(from: normalisedExpected.joined(separator: "\n"), to: normalisedActual.joined(separator: "\n")))
            The run printed:
            \(actual.joined(separator: "\n"))
            """
        if let excuse = kernelTableExcuse(command, normalisedExpected, normalisedActual, options: options) {
            report.knownIssues.append((excuse, message))
            return
        }
        report.rewrites.append((command.expectedLines, actual))
        report.failures.append(message)
    }

    /// Why a difference is the kernel's socket table under load, not the tool: then it is a known issue
    /// (reported, not hidden) rather than a failure. Nil when the difference has any other part.
    private func kernelTableExcuse(
        _ command: DocCommand,
        _ expected: [String],
        _ actual: [String],
        options: DocBlockOptions
    ) -> String? {
        if let excuse = timeWaitWatch.excuse,
            DocNormalisation.onlyTimeWaitLinesMissing(expected, actual, unordered: options.unordered)
        {
            return excuse
        }
        if Self.programs(in: command.text).contains("netstat"),
            DocNormalisation.onlyDuplicateLinesAdded(expected, actual, unordered: options.unordered)
        {
            return "netstat reads /proc/net/tcp one read() at a time; when the table changes between two reads "
                + "(other tests' connections come and go) a socket can be listed twice"
        }
        return nil
    }

    // MARK: - Commands and programs

    /// `/bin/sh -c script` in the scratch directory, with stderr on stdout (one stream, in the order written,
    /// as a terminal shows it) and no input. (Without the cd the commands ran in the test's own directory,
    /// the checkout, and the tutorial's notes.txt and search.svg were written there.)
    private func shell(_ script: String) throws -> ChildProcess {
        let enter = "cd '\(directory.path)' || exit 125; "
        let child = try ChildProcess("/bin/sh", ["-c", enter + "exec 2>&1; " + script], environment: environment)
        child.closeInput()
        return child
    }

    /// The command as run: the doc's port replaced by this run's.
    private func runnable(_ text: String) -> String {
        text.replacing(Regex<Substring>(verbatim: String(DocNormalisation.documentedPort))) { _ in String(port) }
    }

    /// The programs a command line runs: the first word of each part between `|`, `;`, `&&`, `||`,
    /// after any `NAME=value` assignments.
    static func programs(in command: String) -> [String] {
        guard let tokens = try? shellTokens(command) else { return [] }
        var programs: [String] = []
        var expectingProgram = true
        var expectingFile = false
        for token in tokens {
            if token.isRedirection {
                expectingFile = true
            } else if token.isOperator {
                expectingProgram = true
            } else if expectingFile {
                expectingFile = false
            } else if expectingProgram, !token.text.contains("=") || token.text.hasPrefix("=") {
                programs.append(token.text)
                expectingProgram = false
            }
        }
        return programs
    }

    /// True for a shell builtin or a program on this run's PATH.
    private func isInstalled(_ program: String) -> Bool {
        if ["echo", "printf", "cd", "true", "false", "test", "[", "export", "exit"].contains(program) { return true }
        if program.contains("/") { return FileManager.default.isExecutableFile(atPath: program) }
        let path = environment["PATH"] ?? ""
        return path.split(separator: ":").contains {
            FileManager.default.isExecutableFile(atPath: "\($0)/\(program)")
        }
    }

    // MARK: - The scratch repository and the port

    /// A fresh directory (removed with the session) with a symbolic link to each top-level directory of the
    /// package (no build state), so `python3 Tests/Interop/guide_peer.py` and `trace --read docs/search.pcap`
    /// work, and nothing else: a file a command writes (`> notes.txt`, `--plot search.svg`) is created in
    /// the scratch. A link to a top-level file of the same name would have written it into the checkout.
    private static func scratchRepository() throws -> URL {
        let fileManager = FileManager.default
        let directory = fileManager.temporaryDirectory.appendingPathComponent(
            "sockettool-doctest-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
        )
        try fileManager.createDirectory(at: directory, withIntermediateDirectories: true)
        let root = ContractPaths.packageRoot
        for entry in try fileManager.contentsOfDirectory(atPath: root.path)
        where !entry.hasPrefix(".") && isDirectory(root.appendingPathComponent(entry)) {
            try fileManager.createSymbolicLink(
                at: directory.appendingPathComponent(entry),
                withDestinationURL: root.appendingPathComponent(entry)
            )
        }
        return directory
    }

    private static func isDirectory(_ url: URL) -> Bool {
        var directory: ObjCBool = false
        return FileManager.default.fileExists(atPath: url.path, isDirectory: &directory) && directory.boolValue
    }

    /// A port nothing listens on, outside the kernel's ephemeral range when there is room (so no client
    /// of another test holds it), free on 127.0.0.1 and on every interface (the docs use both).
    private static func freePort() throws -> Int {
        let range =
            (try? String(contentsOfFile: "/proc/sys/net/ipv4/ip_local_port_range", encoding: .utf8))?
            .split(whereSeparator: \.isWhitespace).compactMap { Int($0) } ?? [32768, 60999]
        let candidates: ClosedRange<Int> =
            range.count == 2 && range[1] <= 65000
            ? (range[1] + 1)...65535
            : range.count == 2 && range[0] >= 11024 ? 10000...(range[0] - 1) : 20000...65535
        for _ in 0..<200 {
            let port = Int.random(in: candidates)
            if port != DocNormalisation.documentedPort, canBind(port, address: "127.0.0.1"),
                canBind(port, address: "0.0.0.0")
            {
                return port
            }
        }
        throw LoopbackFailure("no free port in \(candidates)")
    }

    private static func canBind(_ port: Int, address: String) -> Bool {
        let descriptor = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard descriptor >= 0 else { return false }
        defer { close(descriptor) }
        var socketAddress = sockaddr_in()
        socketAddress.sin_family = sa_family_t(AF_INET)
        socketAddress.sin_port = in_port_t(UInt16(port).bigEndian)
        inet_pton(AF_INET, address, &socketAddress.sin_addr)
        return withUnsafePointer(to: &socketAddress) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                bind(descriptor, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) == 0
            }
        }
    }
}

@available(*, unavailable)
extension DocSession: Sendable {}
