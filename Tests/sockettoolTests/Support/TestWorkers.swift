// TestWorkers.swift -- SOCKETTOOL_TEST_WORKERS=N (`make test-workers`): every `serve multi` and `serve app` a
// test starts through ChildProcess runs N event loops (`--workers N` after the subcommand), so the server and
// interop suites check the workers' model with the same expectations as the single loop's.
import Foundation

enum TestWorkers {
    /// The loops asked for, when the variable is set to a number above 1.
    static let count: Int? = ProcessInfo.processInfo.environment["SOCKETTOOL_TEST_WORKERS"].flatMap(Int.init)
        .flatMap { $0 > 1 ? $0 : nil }

    /// `arguments` with `--workers N` after `serve multi` or `serve app` (directly, or after the sockettool
    /// path in a wrapper's arguments: sh -c, systemd-socket-activate), unless the test names --workers itself.
    static func adjusted(_ arguments: [String]) -> [String] {
        guard let count, !arguments.contains(where: { $0.hasPrefix("--workers") }) else { return arguments }
        for index in arguments.indices.dropLast()
        where arguments[index] == "serve" && ["multi", "app"].contains(arguments[index + 1])
            && (index == 0 || arguments[index - 1].hasSuffix("sockettool"))
        {
            return Array(arguments[...(index + 1)]) + ["--workers", String(count)] + arguments[(index + 2)...]
        }
        return arguments
    }
}
