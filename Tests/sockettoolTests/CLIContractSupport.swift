// CLIContractSupport.swift -- what the CLI contract suites share: help snapshots with a readable diff,
// the subcommands `--help` lists, NDJSON checks, terminal (pty) runs and the tutorial's command lines.
import Foundation
import Glibc
import Testing

// MARK: - Paths and environment

/// Where the package, its docs and the committed snapshots are.
enum ContractPaths {
    /// The package root: three levels above this file (Tests/sockettoolTests/ThisFile.swift).
    static var packageRoot: URL {
        URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent()
    }

    /// Tests/sockettoolTests/Snapshots.
    static var snapshots: URL {
        URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Snapshots")
    }

    /// docs/tutorial.md.
    static var tutorial: URL { packageRoot.appendingPathComponent("docs/tutorial.md") }
}

/// The environment every contract run adds to the test's own: no colour from the caller's settings,
/// a fixed help width (argument-parser wraps help at $COLUMNS, else the terminal's width, else 80; a
/// pipe has no width, so COLUMNS alone decides).
let contractEnvironment: [String: String] = ["COLUMNS": "80", "NO_COLOR": "", "TERM": "xterm"]

/// True when `name` is set to "1" in the test's environment.
func environmentFlag(_ name: String) -> Bool {
    ProcessInfo.processInfo.environment[name] == "1"
}

/// A sockettool run that finished: status, stdout lines, stderr text.
struct FinishedRun {
    let status: Int32
    let stdoutLines: [String]
    let stderr: String
    var stdout: String { stdoutLines.joined(separator: "\n") }
    var stderrLines: [String] { stderr.split(separator: "\n", omittingEmptySubsequences: true).map(String.init) }
    /// Both streams, for failure messages.
    var transcript: String { "status \(status)\nstdout:\n\(stdout)\nstderr:\n\(stderr)" }
}

/// Starts sockettool (as user nobody when `unprivileged`), runs `meanwhile` (to play a peer), then waits for
/// the exit and collects the output.
func runSockettool(
    _ arguments: [String],
    environment: [String: String] = [:],
    unprivileged: Bool = false,
    timeout: Duration = TestDeadline.generous,
    meanwhile: (() throws -> Void)? = nil
) throws -> FinishedRun {
    let environment = contractEnvironment.merging(environment) { $1 }
    let child =
        unprivileged
        ? try ChildProcess(unprivilegedSockettool: arguments, environment: environment)
        : try ChildProcess(sockettool: arguments, environment: environment)
    child.closeInput()
    try meanwhile?()
    let status = try child.waitForExit(timeout: timeout)
    let lines = child.stdoutLines + (try child.remainingLines())
    return FinishedRun(status: status, stdoutLines: lines, stderr: child.stderrText)
}

// MARK: - Help snapshots

/// One command whose `--help` is snapshotted: its words after `sockettool`.
struct HelpCommand: CustomTestStringConvertible, Sendable, Hashable {
    let words: [String]
    /// The snapshot's file name: "root", "serve-echo", "flood-send".
    var snapshotName: String { words.isEmpty ? "root" : words.joined(separator: "-") }
    var testDescription: String { (["sockettool"] + words + ["--help"]).joined(separator: " ") }

    /// Every command `sockettool --help` leads to. `subcommandsListed` checks this list stays complete.
    static let all: [HelpCommand] = [
        [], ["serve"], ["serve", "echo"], ["serve", "multi"], ["serve", "app"], ["serve", "discard"], ["connect"],
        ["search"], ["flood"], ["flood", "send"], ["flood", "serve"], ["sockets"], ["trace"], ["listen"], ["probe"],
    ].map(HelpCommand.init(words:))
}

/// The subcommand names listed under the "... SUBCOMMANDS:" headings of a help text.
func listedSubcommands(inHelp help: String) -> [String] {
    var names: [String] = []
    var inSection = false
    for line in help.split(separator: "\n", omittingEmptySubsequences: false) {
        if line.hasSuffix("SUBCOMMANDS:") {
            inSection = true
            continue
        }
        guard inSection else { continue }
        if line.trimmingCharacters(in: .whitespaces).isEmpty {
            inSection = false
            continue
        }
        // "  name (default)   description": the name starts in column 3; continuation lines are indented more.
        if let match = line.firstMatch(of: /^  ([a-z][a-z0-9-]*)(?: \(default\))?(?:\s|$)/) {
            names.append(String(match.1))
        }
    }
    return names
}

/// Compares `actual` with the committed snapshot `name`.txt, or rewrites it when
/// SOCKETTOOL_RECORD_SNAPSHOTS=1. A mismatch is recorded with a line diff.
func expectSnapshot(_ actual: String, named name: String, sourceLocation: SourceLocation = #_sourceLocation) throws {
    let file = ContractPaths.snapshots.appendingPathComponent(name + ".txt")
    if environmentFlag("SOCKETTOOL_RECORD_SNAPSHOTS") {
        try FileManager.default.createDirectory(at: ContractPaths.snapshots, withIntermediateDirectories: true)
        try Data(actual.utf8).write(to: file)
        return
    }
    guard let expected = try? String(contentsOf: file, encoding: .utf8) else {
        Issue.record(
            "no snapshot \(file.path); run with SOCKETTOOL_RECORD_SNAPSHOTS=1 to create it",
            sourceLocation: sourceLocation
        )
        return
    }
    if expected != actual {
        Issue.record(
            """
            \(name).txt differs from the output ('-' snapshot, '+' now; \
            SOCKETTOOL_RECORD_SNAPSHOTS=1 rewrites it):
            \(lineDiff(from: expected, to: actual))
            """,
            sourceLocation: sourceLocation
        )
    }
}

/// A unified-style diff of two texts by lines: changed hunks with two lines of context.
func lineDiff(from old: String, to new: String) -> String {
    let a = old.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
    let b = new.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
    // Longest common subsequence table, filled from the end.
    var lcs = [[Int]](repeating: [Int](repeating: 0, count: b.count + 1), count: a.count + 1)
    for i in stride(from: a.count - 1, through: 0, by: -1) {
        for j in stride(from: b.count - 1, through: 0, by: -1) {
            lcs[i][j] = a[i] == b[j] ? lcs[i + 1][j + 1] + 1 : max(lcs[i + 1][j], lcs[i][j + 1])
        }
    }
    // Each step remembers the 1-based line numbers it is at in the old and the new text.
    enum Step {
        case same(String)
        case removed(String)
        case added(String)
    }
    var steps: [(step: Step, old: Int, new: Int)] = []
    var i = 0
    var j = 0
    while i < a.count || j < b.count {
        if i < a.count, j < b.count, a[i] == b[j] {
            steps.append((.same(a[i]), i + 1, j + 1))
            i += 1
            j += 1
        } else if i < a.count, j == b.count || lcs[i + 1][j] >= lcs[i][j + 1] {
            steps.append((.removed(a[i]), i + 1, j + 1))
            i += 1
        } else {
            steps.append((.added(b[j]), i + 1, j + 1))
            j += 1
        }
    }
    let changed = steps.indices.filter { if case .same = steps[$0].step { false } else { true } }
    var shown = Set<Int>()
    for index in changed { shown.formUnion(max(0, index - 2)...min(steps.count - 1, index + 2)) }
    var lines: [String] = []
    var previous = -2
    for index in shown.sorted() {
        if index != previous + 1 {
            lines.append("@@ snapshot line \(steps[index].old), output line \(steps[index].new) @@")
        }
        previous = index
        switch steps[index].step {
        case .same(let text): lines.append("  " + text)
        case .removed(let text): lines.append("- " + text)
        case .added(let text): lines.append("+ " + text)
        }
    }
    return lines.joined(separator: "\n")
}

// MARK: - NDJSON

/// One top-level member of a JSON object line, with its value's raw text.
struct RawMember {
    let key: String
    let rawValue: String
}

/// The top-level members of one JSON object line, in the order they appear, with raw value text (for
/// checks JSONSerialization hides: key order, and whether a number was written as an integer).
/// Returns nil if the line does not look like one object.
func topLevelMembers(ofJSONLine line: String) -> [RawMember]? {
    let bytes = Array(line.utf8)
    guard bytes.first == UInt8(ascii: "{"), bytes.last == UInt8(ascii: "}") else { return nil }
    var members: [RawMember] = []
    var depth = 0
    var inString = false
    var escaped = false
    var stringStart = 0
    var currentKey: String?
    var valueStart: Int?
    var expectingKey = false
    for (index, byte) in bytes.enumerated() {
        if inString {
            if escaped {
                escaped = false
            } else if byte == UInt8(ascii: "\\") {
                escaped = true
            } else if byte == UInt8(ascii: "\"") {
                inString = false
                if depth == 1, expectingKey {
                    currentKey = String(decoding: bytes[(stringStart + 1)..<index], as: UTF8.self)
                    expectingKey = false
                }
            }
            continue
        }
        switch byte {
        case UInt8(ascii: "\""):
            inString = true
            stringStart = index
        case UInt8(ascii: "{"), UInt8(ascii: "["):
            depth += 1
            if depth == 1 { expectingKey = true }
        case UInt8(ascii: "}"), UInt8(ascii: "]"), UInt8(ascii: ","):
            if depth == 1, let key = currentKey, let start = valueStart {
                let raw = String(decoding: bytes[start..<index], as: UTF8.self).trimmingCharacters(in: .whitespaces)
                members.append(RawMember(key: key, rawValue: raw))
                currentKey = nil
                valueStart = nil
            }
            if byte == UInt8(ascii: ",") {
                if depth == 1 { expectingKey = true }
            } else {
                depth -= 1
            }
        case UInt8(ascii: ":"):
            if depth == 1 { valueStart = index + 1 }
        default:
            break
        }
    }
    return members
}

/// Keys that hold a byte count, which must be written as a JSON integer.
func isByteCountKey(_ key: String) -> Bool {
    key == "bytes" || key.hasPrefix("bytes_") || key.hasSuffix("_bytes")
        || ["recv_q", "send_q", "unsent", "queued", "content_length", "sndbuf", "rcvbuf", "chunk"].contains(key)
}

/// True for `snake_case` (lowercase words joined by underscores, digits allowed).
func isSnakeCase(_ key: String) -> Bool {
    key.wholeMatch(of: /[a-z][a-z0-9]*(_[a-z0-9]+)*/) != nil
}

/// Checks `stdout` is NDJSON as the contract says and returns the parsed events: every line one object
/// parsed by JSONSerialization, with a string "event"; every key snake_case (nested ones too, except
/// the peer's own request/response objects); top-level keys sorted; byte counts integers.
@discardableResult
func expectNDJSON(
    _ lines: [String],
    _ what: String,
    sourceLocation: SourceLocation = #_sourceLocation
) -> [[String: Any]] {
    var events: [[String: Any]] = []
    for line in lines where !line.isEmpty {
        guard let object = try? JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any] else {
            Issue.record("\(what): not a JSON object line: \(line)", sourceLocation: sourceLocation)
            continue
        }
        events.append(object)
        if !(object["event"] is String) {
            Issue.record("\(what): no string \"event\": \(line)", sourceLocation: sourceLocation)
        }
        for key in allKeys(object) where !isSnakeCase(key) {
            Issue.record("\(what): key \"\(key)\" is not snake_case: \(line)", sourceLocation: sourceLocation)
        }
        guard let members = topLevelMembers(ofJSONLine: line) else {
            Issue.record("\(what): cannot scan \(line)", sourceLocation: sourceLocation)
            continue
        }
        let keys = members.map(\.key)
        if keys != keys.sorted() {
            Issue.record("\(what): keys not sorted: \(keys)", sourceLocation: sourceLocation)
        }
        for member in members where isByteCountKey(member.key) {
            if member.rawValue.wholeMatch(of: /-?[0-9]+/) == nil {
                Issue.record(
                    "\(what): byte count \"\(member.key)\" is not an integer: \(member.rawValue) in \(line)",
                    sourceLocation: sourceLocation
                )
            }
        }
    }
    if events.isEmpty { Issue.record("\(what): no JSON lines at all", sourceLocation: sourceLocation) }
    return events
}

/// Every key of `object` and of the objects nested in it, except inside "request" and "response",
/// which hold what the peer sent.
private func allKeys(_ value: Any) -> [String] {
    if let object = value as? [String: Any] {
        return object.flatMap { key, nested in
            ["request", "response"].contains(key) ? [key] : [key] + allKeys(nested)
        }
    }
    if let array = value as? [Any] { return array.flatMap(allKeys) }
    return []
}

/// The "event" values, in order.
func eventNames(_ events: [[String: Any]]) -> [String] {
    events.compactMap { $0["event"] as? String }
}

// MARK: - Escape codes and terminals

/// True if `text` holds an ESC byte (0x1B).
func containsEscape(_ text: String) -> Bool {
    text.utf8.contains(0x1B)
}

/// True if `text` holds an SGR (colour) sequence: ESC [ ... m.
func containsColour(_ text: String) -> Bool {
    text.firstMatch(of: /\u{1B}\[[0-9;]*m/) != nil
}

/// util-linux `script`, which runs a command on a pseudo-terminal; nil if it is not installed.
let scriptPath: String? = ["/usr/bin/script", "/bin/script"].first { FileManager.default.isExecutableFile(atPath: $0) }

/// Runs sockettool with stdout and stderr on a pseudo-terminal (util-linux `script`); returns the exit
/// status and everything the terminal received.
func runOnTerminal(_ arguments: [String], environment: [String: String]) throws -> (status: Int32, output: String) {
    let script = try #require(scriptPath)
    let command = ([ChildProcess.sockettool] + arguments).map(shellQuoted).joined(separator: " ")
    let result = try ChildProcess.run(
        script,
        ["-q", "-e", "-c", command, "/dev/null"],
        environment: contractEnvironment.merging(environment) { $1 },
        timeout: .seconds(30)
    )
    return (result.status, result.stdout + result.stderr)
}

/// `text` in single quotes for sh.
func shellQuoted(_ text: String) -> String {
    "'" + text.replacingOccurrences(of: "'", with: #"'\''"#) + "'"
}

// MARK: - The tutorial's commands

/// One checkable command line of docs/tutorial.md: a line `$ sockettool ...` inside a fenced code block.
struct TutorialCommand: CustomStringConvertible {
    /// 1-based line in docs/tutorial.md.
    let line: Int
    /// The line as written, without "$ ".
    let text: String
    /// The words after "sockettool", shell quotes removed, the shell's part (`&`, `|`, `>`, `;`) cut off.
    let arguments: [String]
    /// The exit status the tutorial shows for it: the line after a `$ echo $?` that directly follows
    /// the command's output; nil if it shows none.
    var documentedStatus: Int32?
    var description: String { "docs/tutorial.md:\(line): \(text)" }
}

/// The `$ sockettool ...` lines inside fenced code blocks of `markdown`.
func tutorialCommands(in markdown: String) throws -> [TutorialCommand] {
    let lines = markdown.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
    var commands: [TutorialCommand] = []
    var inFence = false
    for (index, line) in lines.enumerated() {
        if line.hasPrefix("```") {
            inFence.toggle()
            continue
        }
        guard inFence, let command = line.suffixAfter("$ sockettool") else { continue }
        guard command.isEmpty || command.hasPrefix(" ") else { continue }
        var entry = TutorialCommand(
            line: index + 1,
            text: "sockettool" + command,
            arguments: try shellWords(command)
        )
        // The next prompt in the same block: is it `$ echo $?`, and what did it print?
        var next = index + 1
        while next < lines.count, !lines[next].hasPrefix("$ "), !lines[next].hasPrefix("```") { next += 1 }
        if next + 1 < lines.count, lines[next] == "$ echo $?" {
            entry.documentedStatus = Int32(lines[next + 1])
        }
        commands.append(entry)
    }
    return commands
}

/// Splits a command line into words as sh would for the simple cases the tutorial uses: blanks
/// separate, '...' and "..." quote, and the first `&`, `|`, `;`, `>` or `<` outside quotes ends the
/// command (what follows is the shell's business).
func shellWords(_ line: String) throws -> [String] {
    try shellTokens(line).prefix { !$0.isOperator }.map(\.text)
}

/// A word of a command line, or one of the shell's operators (`|`, `||`, `&`, `&&`, `;`, and the
/// redirections `>`, `>>`, `<`, `>&`, with any descriptor number before them).
struct ShellToken: Equatable {
    let text: String
    let isOperator: Bool
    /// `>`, `<` and the like: the word after it is a file.
    var isRedirection: Bool { isOperator && (text.contains(">") || text.contains("<")) }
}

/// The words and operators of a command line, quotes removed.
func shellTokens(_ line: String) throws -> [ShellToken] {
    var tokens: [ShellToken] = []
    var current = ""
    var hasWord = false
    var quote: Character?
    var characters = Array(line)[...]
    func flushWord() {
        if hasWord { tokens.append(ShellToken(text: current, isOperator: false)) }
        current = ""
        hasWord = false
    }
    while let character = characters.popFirst() {
        if let open = quote {
            if character == open { quote = nil } else { current.append(character) }
            continue
        }
        switch character {
        case "'", "\"":
            quote = character
            hasWord = true
        case " ", "\t":
            flushWord()
        case "&", "|", ";", ">", "<":
            var text = String(character)
            if "<>".contains(character), hasWord, !current.isEmpty, current.allSatisfy(\.isNumber) {
                text = current + text  // "2>&1": the descriptor number belongs to the redirection
                current = ""
                hasWord = false
            } else {
                flushWord()
            }
            if let next = characters.first, next == character && character != ";" || character == ">" && next == "&" {
                text.append(next)
                characters.removeFirst()
            }
            tokens.append(ShellToken(text: text, isOperator: true))
        default:
            current.append(character)
            hasWord = true
        }
    }
    guard quote == nil else { throw LoopbackFailure("unbalanced quote in: \(line)") }
    flushWord()
    return tokens
}
