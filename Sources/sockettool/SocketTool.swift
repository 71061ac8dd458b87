// SocketTool.swift -- the root command: configuration only. Each subcommand lives in its own file.
import ArgumentParser
import Glibc
import SocketCore

@main
struct SocketTool: ParsableCommand {
    static let version = "0.1.0"

    static let configuration = CommandConfiguration(
        commandName: "sockettool",
        abstract: "The socket guide's programs, for real: echo, many connections, the app protocol, full buffers.",
        discussion: """
            Each command is a program of "Socket Programming in Python", on one poll()
            event loop and one framing module, printing the guide's event lines
            (or one JSON object per event with --json). Sizes take 4096, 64k, 1.5M
            or 2MiB (k = 1024); seconds take 0.5 or 10.

            Examples, by the guide's sections:
              Echo Client and Server
                sockettool serve echo 127.0.0.1 65432
                sockettool connect 127.0.0.1 65432
              Multi-Connection Client and Server
                sockettool serve multi 127.0.0.1 65432
                sockettool connect 127.0.0.1 65432 --conns 2
              Application Client and Server
                sockettool serve app 0.0.0.0 65432
                sockettool search 127.0.0.1 65432 morpheus
              Troubleshooting: netstat, Recv-Q and Send-Q
                sockettool flood

            Exit status:
            \(ExitStatus.table.map { "  \(String($0.0).padding(to: 4))\($0.1)" }.joined(separator: "\n"))
            """,
        version: version,
        groupedSubcommands: [
            CommandGroup(name: "Server", subcommands: [Serve.self]),
            CommandGroup(name: "Client", subcommands: [Connect.self, Search.self]),
            CommandGroup(name: "Netcat", subcommands: [Listen.self, Probe.self]),
            CommandGroup(name: "Experiment", subcommands: [Flood.self]),
            CommandGroup(name: "Inspect", subcommands: [Sockets.self, Trace.self]),
        ]
    )
}

extension SocketTool {
    /// argument-parser's `main()`, plus: with --json, a usage error is also an "error" event on stdout, so
    /// a script reading JSON lines learns why nothing else came (the exit status stays 64); the completion
    /// scripts come from `CompletionScript`, which knows about default subcommands; and the hidden
    /// `--generate-manual` prints the man page (`ManualPage`).
    static func main() {
        StandardStreams.ensureOpen()
        let arguments = Array(CommandLine.arguments.dropFirst())
        if let script = CompletionScript.requested(by: arguments) {
            print(script)
            return
        }
        do {
            if let page = try ManualPage.requested(by: arguments) {
                print(page, terminator: "")
                return
            }
            var command = try parseAsRoot(arguments)
            // Every command checks the variable, not only those that start a loop: a script that sets it
            // wrong learns so on its first command.
            _ = try Backend.fromEnvironment()
            try command.run()
        } catch {
            if arguments.contains("--json") && exitCode(for: error).rawValue == ExitStatus.usage {
                let message = message(for: error)
                print(EventLog.jsonLine("error", [("kind", .string("usage")), ("message", .string(message))]))
            }
            exit(reporting: error, arguments: arguments)
        }
    }

    /// argument-parser's exit, with its "Error:" label written as every other error line is: "error:",
    /// coloured as `--color` (when it could be read) and the terminal allow.
    static func exit(reporting error: any Error, arguments: [String]) -> Never {
        let status = exitCode(for: error)
        let text = fullMessage(for: error)
        let label = "Error: "
        guard status != .success, text.hasPrefix(label) else { exit(withError: error) }
        let style = TerminalStyle(choice: colorChoice(in: arguments), descriptor: STDERR_FILENO)
        var lines = text.dropFirst(label.count)
        while lines.last == "\n" { lines.removeLast() }
        OutputBuffer(descriptor: STDERR_FILENO).writeLine(style.error("error:") + " " + lines)
        exit(withError: ExitCode(status.rawValue))
    }

    /// The `--color` value among `arguments`, read by hand (they did not parse); auto if none.
    private static func colorChoice(in arguments: [String]) -> TerminalStyle.Choice {
        var choice = TerminalStyle.Choice.auto
        for (index, argument) in arguments.enumerated() {
            if argument == "--color", index + 1 < arguments.count {
                choice = TerminalStyle.Choice(rawValue: arguments[index + 1]) ?? choice
            } else if argument.hasPrefix("--color=") {
                choice = TerminalStyle.Choice(rawValue: String(argument.dropFirst("--color=".count))) ?? choice
            }
        }
        return choice
    }
}

extension String {
    /// Left-aligned in a column of `width` characters.
    func padding(to width: Int) -> String {
        count >= width ? self + " " : self + String(repeating: " ", count: width - count)
    }
}
