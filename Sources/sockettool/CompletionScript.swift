// CompletionScript.swift -- `sockettool --generate-completion-script bash|zsh|fish`: argument-parser's own
// scripts, generated from a copy of the command tree in which `flood` carries its default subcommand's
// arguments.
//
// argument-parser's generators ignore default subcommands (apple/swift-argument-parser#488, open): from the
// real tree, `sockettool flood --<TAB>` offers --help and --version only, although `flood` runs `flood
// send` and takes all its options. Parsing needs the default subcommand (a parent's own positionals would
// swallow the subcommand names), so only completions see the copy.
import ArgumentParser

enum CompletionScript {
    /// The script asked for by `--generate-completion-script SHELL` (or `=SHELL`, or no shell: the
    /// user's), or nil if `arguments` ask for something else.
    static func requested(by arguments: [String]) -> String? {
        let flag = "--generate-completion-script"
        let shell: CompletionShell?
        switch arguments.count {
        case 1 where arguments[0] == flag: shell = CompletionShell.autodetected()
        case 1 where arguments[0].hasPrefix(flag + "="):
            shell = CompletionShell(rawValue: String(arguments[0].dropFirst(flag.count + 1)))
        case 2 where arguments[0] == flag: shell = CompletionShell(rawValue: arguments[1])
        default: return nil
        }
        // An unknown shell falls through to argument-parser, which names the ones it knows.
        return shell.map { CompletionTree.completionScript(for: $0) }
    }

    /// Each command with a default subcommand, and the command completions see instead.
    static let standIns: [(command: ParsableCommand.Type, standIn: ParsableCommand.Type)] = [
        (Flood.self, FloodWithDefaultArguments.self)
    ]
}

/// The root command as completions see it: the same, with each stand-in in place of its command.
private struct CompletionTree: ParsableCommand {
    static let configuration: CommandConfiguration = {
        var configuration = SocketTool.configuration
        configuration.ungroupedSubcommands = configuration.ungroupedSubcommands.map(standingIn)
        configuration.groupedSubcommands = configuration.groupedSubcommands.map { group in
            CommandGroup(name: group.name, subcommands: group.subcommands.map(standingIn))
        }
        return configuration
    }()

    private static func standingIn(_ command: ParsableCommand.Type) -> ParsableCommand.Type {
        CompletionScript.standIns.first { ObjectIdentifier($0.command) == ObjectIdentifier(command) }?.standIn
            ?? command
    }
}

/// `flood` with `flood send`'s options on itself, and its subcommands still offered. Not its HOST and PORT: a
/// command's positionals come before its subcommands in the scripts, so `flood serve` would read as a host.
private struct FloodWithDefaultArguments: ParsableCommand {
    static let configuration: CommandConfiguration = {
        var configuration = Flood.configuration
        configuration.commandName = Flood._commandName
        configuration.defaultSubcommand = nil
        return configuration
    }()

    @OptionGroup var flags: FloodFlags
    @OptionGroup var dial: DialFlags
}
