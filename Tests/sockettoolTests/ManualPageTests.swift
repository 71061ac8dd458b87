// ManualPageTests.swift -- the man page (`sockettool --generate-manual`, installed by `make install`)
// renders without a single warning, keeps its examples' emoji and runnable, and covers every command.
import Foundation
import Testing

@testable import sockettool

@Suite("Man page: clean roff, every command, runnable examples")
struct ManualPageTests {
    static let groff: String? = ["/usr/bin/groff", "/bin/groff"].first {
        FileManager.default.isExecutableFile(atPath: $0)
    }
    static let man: String? = ["/usr/bin/man", "/bin/man"].first { FileManager.default.isExecutableFile(atPath: $0) }

    /// The page, written to a temporary file for groff and man.
    private static func withPage<T>(_ body: (String, URL) throws -> T) throws -> T {
        let page = try ManualPage.page()
        let file = FileManager.default.temporaryDirectory.appendingPathComponent(
            "sockettool-\(getpid())-\(UInt32.random(in: 0...UInt32.max)).1"
        )
        try Data(page.utf8).write(to: file)
        defer { try? FileManager.default.removeItem(at: file) }
        return try body(page, file)
    }

    /// The page as `man` shows it on a UTF-8 terminal 80 columns wide.
    private static func rendered(_ file: URL) throws -> (status: Int32, stdout: String, stderr: String) {
        try ChildProcess.run(
            try #require(man),
            ["--warnings", "-l", file.path],
            environment: ["LANG": "C.UTF-8", "LC_ALL": "C.UTF-8", "MANWIDTH": "80", "MANPAGER": "cat", "PAGER": "cat"]
        )
    }

    @Test("the binary's --generate-manual prints the page")
    func binaryPrintsThePage() throws {
        let run = try ChildProcess.sockettool(["--generate-manual"])
        #expect(run.status == 0, "\(run.stderr)")
        #expect(run.stdout + "\n" == (try ManualPage.page()))
    }

    @Test(
        "groff -ww (every warning) has nothing to say, on PostScript, UTF-8 and ASCII devices",
        .enabled(if: groff != nil)
    )
    func groffWarnsOfNothing() throws {
        try Self.withPage { _, file in
            for device in [[], ["-Tutf8"], ["-Tascii"]] {
                for macros in ["-mandoc", "-man"] {
                    let run = try ChildProcess.run(
                        try #require(Self.groff),
                        ["-ww", macros, "-z"] + device + [file.path]
                    )
                    #expect(run.status == 0 && run.stderr.isEmpty, "groff -ww \(macros) -z \(device): \(run.stderr)")
                }
            }
        }
    }

    @Test("man --warnings -l renders it without a warning", .enabled(if: man != nil))
    func manWarnsOfNothing() throws {
        try Self.withPage { _, file in
            let run = try Self.rendered(file)
            #expect(run.status == 0, "\(run.stderr)")
            #expect(run.stderr.isEmpty, "\(run.stderr)")
            #expect(run.stdout.contains("SOCKETTOOL(1)"))
        }
    }

    @Test("no source line is a request by accident: `'` never starts a line, `.` only the page's own macros")
    func noStrayRequests() throws {
        let page = try ManualPage.page()
        let macros: Set<String> = [
            ".TH", ".SH", ".SS", ".PP", ".TP", ".RS", ".RE", ".nf", ".fi", ".B", ".I", ".BR", ".if",
        ]
        #expect(page.hasSuffix("\n"))
        for line in page.dropLast().split(separator: "\n", omittingEmptySubsequences: false) {
            #expect(!line.hasPrefix("'"), "\(line)")
            #expect(!line.isEmpty, "a blank line in the source")
            if line.hasPrefix(".") {
                let macro = String(line.prefix { $0 != " " })
                #expect(macros.contains(macro), "\(line)")
            }
        }
        // What argument-parser's generator lost: a discussion line that starts with ''.
        #expect(page.contains("\\&'', 0.0.0.0 or :: listen on every interface"))
    }

    @Test("the examples keep their emoji and ASCII dashes, so one copied from the page runs", .enabled(if: man != nil))
    func examplesCopyAndRun() throws {
        try Self.withPage { _, file in
            let text = try Self.rendered(file).stdout
            #expect(text.contains("sockettool search 127.0.0.1 65432 --binary 😃"), "the emoji example is gone")
            // Prose is justified: man pads a line's blanks, so compare it with each run of blanks as one.
            let prose = text.split(separator: " ", omittingEmptySubsequences: true).joined(separator: " ")
            #expect(prose.contains("(morpheus, ring, 🐶)"), "the table's emoji is gone")
            // Every example line (in an indented block, deeper than the synopsis lines): the command up to
            // the first run of two blanks (its comment follows).
            var examples = 0
            for line in text.split(separator: "\n") {
                let trimmed = line.drop { $0 == " " }
                guard trimmed.hasPrefix("sockettool "), line.count - trimmed.count > 8 else { continue }
                let command = trimmed.components(separatedBy: "  ")[0]
                let words = try shellWords(String(command.dropFirst("sockettool".count)))
                examples += 1
                do {
                    _ = try SocketTool.parseAsRoot(words)
                } catch {
                    let exit = SocketTool.exitCode(for: error)
                    #expect(exit == .success, "man page example `\(command)`: \(SocketTool.message(for: error))")
                }
            }
            #expect(examples >= 30, "found only \(examples) examples")
        }
    }

    @Test("every command has a section, and every option of it is named there")
    func everyCommandAndOption() throws {
        let page = try ManualPage.page()
        let sections = page.components(separatedBy: "\n.SS ").dropFirst()
        for (path, options) in try CompletionTests.commandOptions() where !path.isEmpty {
            let title = "\"" + path.joined(separator: " ") + "\"\n"
            let section = try #require(sections.first { $0.hasPrefix(title) }, "no section for \(path)")
            let own = section.components(separatedBy: "\n.SS ").first ?? section
            for option in options where path != ["flood"] {
                let roff = "\\fB" + option.replacingOccurrences(of: "-", with: "\\-") + "\\fR"
                #expect(own.contains(roff), "\(path): \(option)")
            }
        }
    }
}
