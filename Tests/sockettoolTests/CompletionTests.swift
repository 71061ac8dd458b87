// CompletionTests.swift -- the shell completion scripts offer every command's options: bash is run for real
// (the script sourced, a command line completed at `--`), zsh and fish are read as text (neither shell is
// installed here). A command with a default subcommand (`flood`) offers that subcommand's options too.
import Foundation
import Testing

@Suite("Completion scripts: every command's options")
struct CompletionTests {
    /// Every command path of `sockettool --experimental-dump-help` with the long options it takes: its own,
    /// and for a command with a default subcommand, the default's too (what the command accepts).
    static func commandOptions() throws -> [(path: [String], options: Set<String>)] {
        let run = try ChildProcess.sockettool(["--experimental-dump-help"])
        try #require(run.status == 0, "\(run.stderr)")
        let json = try #require(try JSONSerialization.jsonObject(with: Data(run.stdout.utf8)) as? [String: Any])
        let root = try #require(json["command"] as? [String: Any])
        var result: [(path: [String], options: Set<String>)] = []
        func longOptions(_ command: [String: Any]) -> Set<String> {
            let arguments = command["arguments"] as? [[String: Any]] ?? []
            return Set(
                arguments.filter { $0["kind"] as? String != "positional" && $0["shouldDisplay"] as? Bool != false }
                    .flatMap { ($0["names"] as? [[String: Any]] ?? []) }
                    .filter { $0["kind"] as? String == "long" }
                    .compactMap { ($0["name"] as? String).map { "--" + $0 } }
            )
        }
        func walk(_ command: [String: Any], path: [String]) {
            let subcommands = command["subcommands"] as? [[String: Any]] ?? []
            var options = longOptions(command)
            if let name = command["defaultSubcommand"] as? String,
                let fallback = subcommands.first(where: { $0["commandName"] as? String == name })
            {
                options.formUnion(longOptions(fallback))
            }
            result.append((path, options))
            for subcommand in subcommands {
                guard let name = subcommand["commandName"] as? String, name != "help" else { continue }
                walk(subcommand, path: path + [name])
            }
        }
        walk(root, path: [])
        return result
    }

    static func script(_ shell: String) throws -> String {
        let run = try ChildProcess.sockettool(["--generate-completion-script", shell])
        try #require(run.status == 0, "\(run.stderr)")
        return run.stdout
    }

    @Test("bash: `sockettool COMMAND --<TAB>` offers every option of COMMAND", .enabled(if: bashPath != nil, "no bash"))
    func bash() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent(
            "sockettool-completion-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
        )
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let script = directory.appendingPathComponent("sockettool.bash")
        try Data(Self.script("bash").utf8).write(to: script)
        // What bash does on TAB: the words so far in COMP_WORDS, the cursor at the end of the line.
        let driver = """
            source "$1"; shift
            COMP_WORDS=("$@"); COMP_CWORD=$(( $# - 1 ))
            COMP_LINE="$*"; COMP_POINT=${#COMP_LINE}; COMPREPLY=()
            _sockettool sockettool "${COMP_WORDS[COMP_CWORD]}" "${COMP_WORDS[COMP_CWORD-1]}"
            printf '%s\\n' "${COMPREPLY[@]}"
            """
        let commands = try Self.commandOptions()
        #expect(commands.count >= 10, "\(commands.map(\.path))")
        for (path, options) in commands {
            let words = ["sockettool"] + path + ["--"]
            let run = try ChildProcess.run(try #require(bashPath), ["-c", driver, "bash", script.path] + words)
            let offered = Set(run.stdout.split(separator: "\n").map(String.init))
            #expect(run.status == 0, "\(words.joined(separator: " ")): \(run.stderr)")
            let missing = options.subtracting(offered)
            #expect(missing.isEmpty, "`\(words.joined(separator: " "))<TAB>` misses \(missing.sorted())")
        }
        // The default subcommand's options, after its own words too, and a subcommand's own.
        for (words, expected) in [
            (["flood", "--sndbuf", "4096", "--"], "--hold"), (["flood", "serve", "--"], "--max-conns"),
            (["flood", "send", "--"], "--plot"),
        ] {
            let run = try ChildProcess.run(
                try #require(bashPath),
                ["-c", driver, "bash", script.path, "sockettool"] + words
            )
            #expect(run.stdout.split(separator: "\n").contains(Substring(expected)), "\(words): \(run.stdout)")
        }
        let flood = try ChildProcess.run(
            try #require(bashPath),
            ["-c", driver, "bash", script.path, "sockettool", "flood", "serve", "--"]
        )
        #expect(!flood.stdout.contains("--plot"), "flood serve takes no --plot: \(flood.stdout)")
    }

    @Test("zsh and fish: each command's function or conditions name every option of the command")
    func zshAndFish() throws {
        let zsh = try Self.script("zsh")
        let fish = try Self.script("fish")
        for (path, options) in try Self.commandOptions() {
            let function = "_sockettool" + path.map { "_" + $0 }.joined() + "() {"
            let body = zsh.components(separatedBy: function).dropFirst().first?.components(separatedBy: "\n}\n").first
            let zshBody = try #require(body, "no \(function) in the zsh script")
            let condition = "\"" + (["sockettool"] + path).joined(separator: " ") + "\""
            let fishLines = fish.split(separator: "\n").filter { $0.contains(condition) }
            for option in options {
                // '--keep[...]', '(-h --help)'{-h,--help}'[...]', '*'{-m,--message}'[...]'
                let zshNames = ["[", ",", "}"].contains { zshBody.contains(option + $0) }
                #expect(zshNames, "zsh \(path): \(option)")
                let name = String(option.dropFirst(2))
                #expect(fishLines.contains { $0.contains("-l '\(name)'") }, "fish \(path): \(option)")
            }
        }
    }
}

/// bash, which the completion test drives; nil if it is not installed.
let bashPath: String? = ["/bin/bash", "/usr/bin/bash"].first { FileManager.default.isExecutableFile(atPath: $0) }
