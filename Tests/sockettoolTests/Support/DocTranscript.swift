// DocTranscript.swift -- the doc test's reading of a Markdown file: its command blocks, what each shows,
// and the `<!-- doctest: ... -->` directives that say how to run them. The convention is written out at
// the top of DocTests.swift; this file only parses it.
import Foundation

/// A line of a doc that breaks the convention (an unknown directive, a directive with no block after it).
struct DocSyntaxError: Error, CustomStringConvertible {
    let file: String
    let line: Int
    let message: String
    var description: String { "\(file):\(line): \(message)" }
}

/// One `$ ` line of a command block and the output the doc shows under it.
struct DocCommand {
    /// 1-based line of the `$ ` line.
    let line: Int
    /// The command as typed, without `$ `.
    let text: String
    /// The lines under it, up to the next `$ ` line or the closing fence.
    let expected: [String]
    /// 0-based indexes, in the file's lines, of `expected` (for rewriting it).
    let expectedLines: Range<Int>

    /// `$ echo $?`: prints the previous command's exit status, which the harness knows.
    var isStatusEcho: Bool { text == "echo $?" }
}

/// How one command block is run and compared; set by a directive on the line(s) before its fence.
struct DocBlockOptions: Equatable {
    /// Its one command is a server: started in the background, compared when stopped.
    var background = false
    /// A background command is ready once a line containing this appears (default: its first line).
    var until: String?
    /// A background command is sent SIGINT only once a line containing this appears: a server that
    /// reacts to its client's end (a reset) before the user presses Ctrl-C.
    var stopAfter: String?
    /// The output is compared as a set of lines, in any order (concurrent connections).
    var unordered = false
    /// Every number in the block is run-dependent (queue sizes, counts of a timed run).
    var numbers = false
    /// Why the block is not run at all.
    var notRun: String?
    /// Why the block runs (statuses checked) but its output is not compared.
    var notCompared: String?
}

/// A fenced block whose first line starts with `$ `.
struct DocBlock {
    /// 1-based line of the opening fence.
    let line: Int
    let options: DocBlockOptions
    let commands: [DocCommand]
}

/// What the harness does, in the doc's order.
enum DocStep {
    /// Run a command block.
    case block(DocBlock)
    /// `<!-- doctest: start COMMAND -->`: a server the prose mentions but no block shows.
    case start(command: String, until: String?, line: Int)
    /// `<!-- doctest: stop -->`: Ctrl-C (SIGINT) to every background command, newest first, then compare.
    case stop(line: Int)
}

/// A Markdown file read as doc-test steps.
struct DocScript {
    /// The path shown in messages ("docs/tutorial.md").
    let file: String
    /// The file's lines.
    let lines: [String]
    let steps: [DocStep]

    var blocks: [DocBlock] {
        steps.compactMap { if case .block(let block) = $0 { block } else { nil } }
    }

    init(file: String, markdown: String) throws {
        self.file = file
        lines = markdown.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        steps = try Self.parse(lines, file: file)
    }

    private static func parse(_ lines: [String], file: String) throws -> [DocStep] {
        var steps: [DocStep] = []
        var pending: (options: DocBlockOptions, line: Int)?
        var index = 0
        while index < lines.count {
            let line = lines[index]
            if let directive = try directiveText(line, file: file, line: index + 1) {
                if directive == "stop" {
                    steps.append(.stop(line: index + 1))
                } else if directive.hasPrefix("start ") {
                    let (command, until) = try splitUntil(String(directive.dropFirst(6)), file: file, line: index + 1)
                    steps.append(.start(command: command, until: until, line: index + 1))
                } else {
                    guard pending == nil else {
                        throw DocSyntaxError(file: file, line: index + 1, message: "two block directives in a row")
                    }
                    pending = (try blockOptions(directive, file: file, line: index + 1), index + 1)
                }
                index += 1
                continue
            }
            if line.hasPrefix("```") {
                let close = lines[(index + 1)...].firstIndex { $0.hasPrefix("```") } ?? lines.count
                let body = Array(lines[(index + 1)..<close])
                if body.first?.hasPrefix("$ ") == true {
                    let options = pending?.options ?? DocBlockOptions()
                    let block = DocBlock(
                        line: index + 1,
                        options: options,
                        commands: commands(in: body, firstLine: index + 1)
                    )
                    if options.background && block.commands.count != 1 {
                        throw DocSyntaxError(
                            file: file,
                            line: index + 1,
                            message: "a background block holds exactly one command"
                        )
                    }
                    steps.append(.block(block))
                } else if let pending {
                    throw DocSyntaxError(
                        file: file,
                        line: pending.line,
                        message: "a doctest directive must precede a block whose first line starts with '$ '"
                    )
                }
                pending = nil
                index = close + 1
                continue
            }
            if let pending, !line.trimmingCharacters(in: .whitespaces).isEmpty {
                throw DocSyntaxError(file: file, line: pending.line, message: "a block directive must precede a fence")
            }
            index += 1
        }
        if let pending {
            throw DocSyntaxError(file: file, line: pending.line, message: "a block directive with no block after it")
        }
        return steps
    }

    /// The `$ ` lines of a block's body and the lines under each. `firstLine` is the fence's 1-based line.
    private static func commands(in body: [String], firstLine: Int) -> [DocCommand] {
        var commands: [DocCommand] = []
        var start: Int?
        func close(at end: Int) {
            guard let begin = start else { return }
            commands.append(
                DocCommand(
                    line: firstLine + 1 + begin,
                    text: String(body[begin].dropFirst(2)),
                    expected: Array(body[(begin + 1)..<end]),
                    expectedLines: (firstLine + begin + 1)..<(firstLine + end)
                )
            )
        }
        for (offset, line) in body.enumerated() where line.hasPrefix("$ ") {
            close(at: offset)
            start = offset
        }
        close(at: body.count)
        return commands
    }

    /// The text of a `<!-- doctest: ... -->` line, or nil for any other line.
    private static func directiveText(_ line: String, file: String, line number: Int) throws -> String? {
        let trimmed = line.trimmingCharacters(in: .whitespaces)
        guard trimmed.hasPrefix("<!-- doctest") else { return nil }
        guard trimmed.hasPrefix("<!-- doctest: "), trimmed.hasSuffix(" -->") else {
            throw DocSyntaxError(file: file, line: number, message: "write a directive as <!-- doctest: ... -->")
        }
        return String(trimmed.dropFirst("<!-- doctest: ".count).dropLast(" -->".count))
            .trimmingCharacters(in: .whitespaces)
    }

    /// `background`, `background until "TEXT"`, `stop after "TEXT"`, `unordered`, `numbers`, `not run: REASON`,
    /// `not compared: REASON`, joined by commas; a reason runs to the end.
    private static func blockOptions(_ text: String, file: String, line: Int) throws -> DocBlockOptions {
        var options = DocBlockOptions()
        var rest = Substring(text)
        while !rest.isEmpty {
            for reasonKey in ["not run:", "not compared:"] where rest.hasPrefix(reasonKey) {
                let reason = rest.dropFirst(reasonKey.count).trimmingCharacters(in: .whitespaces)
                guard !reason.isEmpty else {
                    throw DocSyntaxError(file: file, line: line, message: "'\(reasonKey)' needs a reason")
                }
                if reasonKey == "not run:" { options.notRun = reason } else { options.notCompared = reason }
                return options
            }
            let token: Substring
            if let comma = rest.firstIndex(of: ",") {
                token = rest[..<comma]
                rest = rest[rest.index(after: comma)...].drop { $0 == " " }
            } else {
                token = rest
                rest = ""
            }
            let word = token.trimmingCharacters(in: .whitespaces)
            if word == "background" || word.hasPrefix("background until ") {
                options.background = true
                options.until = try splitUntil(word, file: file, line: line).until
            } else if word.hasPrefix("stop after ") {
                options.stopAfter = try quoted(String(word.dropFirst("stop after ".count)), file: file, line: line)
            } else if word == "unordered" {
                options.unordered = true
            } else if word == "numbers" {
                options.numbers = true
            } else {
                throw DocSyntaxError(
                    file: file,
                    line: line,
                    message:
                        "unknown doctest option '\(word)' (background [until \"TEXT\"], stop after \"TEXT\", unordered, numbers, "
                        + "not run: REASON, not compared: REASON; actions: start COMMAND, stop)"
                )
            }
        }
        return options
    }

    /// Splits `WORDS until "TEXT"` into the words and TEXT.
    private static func splitUntil(_ text: String, file: String, line: Int) throws -> (String, until: String?) {
        guard let range = text.range(of: " until ") else { return (text, nil) }
        return (
            String(text[..<range.lowerBound]), try quoted(String(text[range.upperBound...]), file: file, line: line)
        )
    }

    /// TEXT from `"TEXT"`.
    private static func quoted(_ text: String, file: String, line: Int) throws -> String {
        guard text.count >= 2, text.hasPrefix("\""), text.hasSuffix("\"") else {
            throw DocSyntaxError(file: file, line: line, message: "put the text in quotes: \"TEXT\"")
        }
        return String(text.dropFirst().dropLast())
    }
}
