// ManualPage.swift -- `sockettool --generate-manual`: the man page (man(7) macros), written from the same
// command definitions as --help (argument-parser's --experimental-dump-help), so the two cannot disagree.
//
// argument-parser's generate-manual plugin drops every non-ASCII character (the examples' emoji, so
// `search ... --binary 😃` copied from the page fails), lets a discussion line that begins with `'` or
// `.` be read as a roff request (it vanishes), and leaves blank lines that mdoc warns about. Here every
// text line is escaped as roff(7) asks, characters beyond ASCII become \[uXXXX] with a plain fallback for
// devices without the glyph, and paragraphs are macros, never blank lines.
import ArgumentParser
import SocketCore

enum ManualPage {
    /// The page for `arguments` if they ask for it (`--generate-manual`), else nil.
    static func requested(by arguments: [String]) throws -> String? {
        guard arguments == ["--generate-manual"] else { return nil }
        return try page()
    }

    /// The whole page.
    static func page() throws -> String {
        let tool = try toolInfo()
        guard let root = tool["command"] else { throw ManualPageError("no command in the dump") }
        var page = ManualPageWriter()
        page.write(root: root, version: SocketTool.version)
        return page.text
    }

    /// argument-parser's description of every command, option and argument, as JSON.
    private static func toolInfo() throws -> JSONValue {
        // argument-parser answers the flag as it answers --help: with an "error" that carries the text.
        guard
            case .failure(let request) = Result(catching: { try SocketTool.parseAsRoot(["--experimental-dump-help"]) })
        else { throw ManualPageError("argument-parser did not dump its help") }
        let text = SocketTool.message(for: request)
        do {
            return try JSONParser.parse(Array(text.utf8), maximumDepth: 64)
        } catch {
            throw ManualPageError("cannot read argument-parser's help dump: \(error)")
        }
    }
}

/// The page could not be made (argument-parser's dump changed shape).
struct ManualPageError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}

/// Builds the roff text, one line at a time.
private struct ManualPageWriter {
    private(set) var text = ""
    /// Every character beyond ASCII the page uses: each gets a fallback for devices without its glyph.
    private var unicodeScalars = Set<UInt32>()

    mutating func write(root: JSONValue, version: String) {
        var body = ManualPageWriter()
        body.line(".SH NAME")
        body.line("sockettool \\- " + escaped(root["abstract"]?.stringValue ?? ""))
        body.line(".SH SYNOPSIS")
        body.line(".B sockettool")
        body.line("\\fIcommand\\fR [\\fIarguments\\fR] [\\fIoptions\\fR]")
        body.line(".SH DESCRIPTION")
        body.discussion(root["discussion"]?.stringValue ?? "")
        body.line(".SH COMMANDS")
        body.line("Every command takes \\fB\\-\\-help\\fR, which prints the same text as this section.")
        for command in root["subcommands"]?.arrayValue ?? [] { body.command(command, path: ["sockettool"]) }
        body.line(".SH SEE ALSO")
        body.line("Real Python,")
        body.line(".I Socket Programming in Python (Guide),")
        body.line("https://realpython.com/python-sockets/ (the programs sockettool follows);")
        body.line(".BR ss (8),")
        body.line(".BR netstat (8),")
        body.line(".BR nc (1).")

        line(".TH SOCKETTOOL 1 \"\" \"sockettool \(version)\" \"User Commands\"")
        // A device without a glyph (PostScript, plain ASCII) prints its code point instead of warning.
        for scalar in body.unicodeScalars.sorted() {
            let name = Self.glyphName(scalar)
            line(".if !c\(name) .char \(name) <U+\(Self.hex(scalar, digits: 4))>")
        }
        text += body.text
    }

    // MARK: - Commands

    private mutating func command(_ command: JSONValue, path: [String]) {
        guard let name = command["commandName"]?.stringValue, name != "help",
            command["shouldDisplay"] != .bool(false)
        else { return }
        let path = path + [name]
        let arguments = (command["arguments"]?.arrayValue ?? []).filter { $0["shouldDisplay"] != .bool(false) }
        line(".SS \"" + escaped(path.dropFirst().joined(separator: " "), inQuotes: true) + "\"")
        var synopsis = path.map { "\\fB" + escaped($0) + "\\fR" }
        for argument in arguments where argument["kind"]?.stringValue == "positional" {
            let value = "\\fI" + escaped(argument["valueName"]?.stringValue ?? "value") + "\\fR"
            synopsis.append(argument["isOptional"] == .bool(true) ? "[" + value + "]" : value)
        }
        if arguments.contains(where: { $0["kind"]?.stringValue != "positional" }) {
            synopsis.append("[\\fIoptions\\fR]")
        }
        if let subcommands = command["subcommands"]?.arrayValue, !subcommands.isEmpty {
            synopsis.append("\\fIcommand\\fR")
        }
        line(synopsis.joined(separator: " "))
        if let abstract = command["abstract"]?.stringValue, !abstract.isEmpty {
            line(".PP")
            line(escaped(abstract))
        }
        if let discussion = command["discussion"]?.stringValue, !discussion.isEmpty { self.discussion(discussion) }
        for argument in arguments { self.argument(argument) }
        for subcommand in command["subcommands"]?.arrayValue ?? [] { self.command(subcommand, path: path) }
    }

    /// One `.TP` item: the names and value, then the help text with its default and values, as --help shows.
    private mutating func argument(_ argument: JSONValue) {
        let valueName = "\\fI" + escaped(argument["valueName"]?.stringValue ?? "value") + "\\fR"
        var term: String
        switch argument["kind"]?.stringValue {
        case "positional":
            term = valueName
        case let kind:
            let names = (argument["names"]?.arrayValue ?? []).compactMap { name -> String? in
                guard let text = name["name"]?.stringValue else { return nil }
                let dashes = name["kind"]?.stringValue == "long" ? "\\-\\-" : "\\-"
                return "\\fB" + dashes + escaped(text) + "\\fR"
            }
            term = names.joined(separator: ", ")
            if kind == "option" { term += " " + valueName }
        }
        if argument["isRepeating"] == .bool(true) { term += " ..." }
        var help = argument["abstract"]?.stringValue ?? ""
        var notes: [String] = []
        if let values = argument["allValues"]?.arrayValue?.compactMap(\.stringValue), !values.isEmpty {
            notes.append("values: " + values.joined(separator: ", "))
        }
        if let value = argument["defaultValue"]?.stringValue { notes.append("default: " + value) }
        if !notes.isEmpty { help += (help.isEmpty ? "" : " ") + "(" + notes.joined(separator: "; ") + ")" }
        line(".TP")
        line(term)
        line(escaped(help))
        if let discussion = argument["discussion"]?.stringValue, !discussion.isEmpty { self.discussion(discussion) }
    }

    // MARK: - Text

    /// A discussion as --help prints it: paragraphs separated by blank lines, each filled, except runs of
    /// indented lines (examples, tables), which are kept as they are, indented.
    private mutating func discussion(_ text: String) {
        for paragraph in text.split(separator: "\n\n", omittingEmptySubsequences: true) {
            line(".PP")
            var literal: [Substring] = []
            for source in paragraph.split(separator: "\n", omittingEmptySubsequences: false) {
                if source.first == " " {
                    literal.append(source)
                    continue
                }
                flushLiteral(&literal)
                if !source.allSatisfy(\.isWhitespace) { line(escaped(String(source))) }
            }
            flushLiteral(&literal)
        }
    }

    /// Indented lines in no-fill mode, their common indent dropped and the page's own added.
    private mutating func flushLiteral(_ lines: inout [Substring]) {
        guard !lines.isEmpty else { return }
        let indent = lines.filter { !$0.allSatisfy(\.isWhitespace) }.map { $0.prefix { $0 == " " }.count }.min() ?? 0
        line(".RS 4")
        line(".nf")
        for source in lines {
            let kept = source.dropFirst(min(indent, source.prefix { $0 == " " }.count))
            // A blank line inside an example is a no-fill line holding only a zero-width space.
            line(kept.allSatisfy(\.isWhitespace) ? "\\&" : escaped(String(kept)))
        }
        line(".fi")
        line(".RE")
        lines.removeAll()
    }

    /// `source` as a roff text line (or a macro argument in double quotes): backslashes as `\e`, hyphens as
    /// `\-` (an ASCII minus, so options copied from the page work), characters beyond ASCII as `\[uXXXX]`,
    /// and a zero-width `\&` in front of a leading `.` or `'`, which roff would read as a request.
    private mutating func escaped(_ source: String, inQuotes: Bool = false) -> String {
        var result = ""
        for scalar in source.unicodeScalars {
            switch scalar {
            case "\\": result += "\\e"
            case "-": result += "\\-"
            case "\"" where inQuotes: result += "\\(dq"
            case "\n", "\r", "\t": result += " "
            case _ where scalar.value < 0x20 || scalar.value == 0x7F: continue
            case _ where scalar.value > 0x7F:
                unicodeScalars.insert(scalar.value)
                result += Self.glyphName(scalar.value)
            default: result.unicodeScalars.append(scalar)
            }
        }
        if result.hasPrefix(".") || result.hasPrefix("'") { result = "\\&" + result }
        return result
    }

    private mutating func line(_ roff: String) {
        text += roff
        text += "\n"
    }

    /// `\[u1F603]`: groff's name for a Unicode character (at least four hex digits, capitals).
    private static func glyphName(_ scalar: UInt32) -> String { "\\[u" + hex(scalar, digits: 4) + "]" }

    private static func hex(_ value: UInt32, digits: Int) -> String {
        let text = String(value, radix: 16, uppercase: true)
        return String(repeating: "0", count: max(0, digits - text.count)) + text
    }
}

extension JSONValue {
    /// The elements of an array, or nil.
    fileprivate var arrayValue: [JSONValue]? {
        if case .array(let elements) = self { return elements }
        return nil
    }
}
