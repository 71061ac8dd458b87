// BackendTests.swift -- every `make test` pass runs the backend it set: the servers it starts say which
// readiness API their loop uses, --backend overrides SOCKETTOOL_BACKEND, and a value that names no backend
// is a usage error instead of a quiet poll().
import Foundation
import Glibc
import SocketCore
import Testing

@Suite("Backends: each pass runs the one it set, and a wrong name is an error")
struct BackendTests {
    /// What this pass asked for: SOCKETTOOL_BACKEND as `make test` set it (poll, then epoll); unset or empty,
    /// the built-in default, poll.
    static var requested: String {
        let value = ProcessInfo.processInfo.environment["SOCKETTOOL_BACKEND"] ?? ""
        return value.isEmpty ? "poll" : value
    }

    /// The servers with an event loop, as this pass starts them (no --backend).
    static let loopServers: [[String]] = [
        ["serve", "multi", "127.0.0.1", "0"], ["serve", "app", "127.0.0.1", "0"],
        ["serve", "discard", "127.0.0.1", "0"],
        ["flood", "serve", "127.0.0.1", "0"],
    ]

    @Test("the servers of this pass run the backend SOCKETTOOL_BACKEND names", arguments: loopServers)
    func thisPassRunsItsBackend(server: [String]) throws {
        try #require(
            SelectorKind(rawValue: Self.requested) != nil,
            "this pass set SOCKETTOOL_BACKEND=\(Self.requested), which is no backend"
        )
        let backend = try listeningBackend(server)
        print("\(server.prefix(2).joined(separator: " ")): backend \(backend) (this pass: \(Self.requested))")
        #expect(backend == Self.requested)
    }

    @Test("--backend wins over SOCKETTOOL_BACKEND, both ways", arguments: SelectorKind.allCases)
    func flagOverridesEnvironment(kind: SelectorKind) throws {
        let other = SelectorKind.allCases.first { $0 != kind }!
        for server in Self.loopServers.prefix(2) {
            let backend = try listeningBackend(
                server + ["--backend", kind.rawValue],
                environment: ["SOCKETTOOL_BACKEND": other.rawValue]
            )
            #expect(backend == kind.rawValue, "\(server)")
        }
    }

    @Test("SOCKETTOOL_BACKEND empty means the built-in default, poll")
    func emptyMeansPoll() throws {
        #expect(try listeningBackend(Self.loopServers[0], environment: ["SOCKETTOOL_BACKEND": ""]) == "poll")
    }

    @Test(
        "an unknown SOCKETTOOL_BACKEND is a usage error naming poll and epoll, for every command",
        arguments: [
            ["serve", "multi", "127.0.0.1", "0"], ["serve", "app", "127.0.0.1", "0"],
            ["serve", "echo", "127.0.0.1", "0"], ["serve", "discard", "127.0.0.1", "0"],
            ["flood", "serve", "127.0.0.1", "0"], ["connect", "127.0.0.1", "1"], ["search", "127.0.0.1", "1", "x"],
        ]
    )
    func unknownEnvironmentValue(arguments: [String]) throws {
        let environment = ["SOCKETTOOL_BACKEND": "Epoll"]
        try expectFailure(arguments, CLIContractExitStatusTests.usage, environment: environment)
        let run = try runSockettool(arguments, environment: environment)
        #expect(
            run.stderrLines.first
                == "error: SOCKETTOOL_BACKEND='Epoll' is not a backend: set it to poll or epoll, or unset it.",
            "\(run.transcript)"
        )
        #expect(!run.stdout.contains("Listening"), "nothing may start: \(run.transcript)")
    }

    @Test("an unknown --backend is a usage error naming poll and epoll")
    func unknownFlagValue() throws {
        try expectFailure(
            ["serve", "multi", "127.0.0.1", "0", "--backend", "kqueue"],
            CLIContractExitStatusTests.usage
        )
        let run = try runSockettool(["serve", "app", "127.0.0.1", "0", "--backend", "kqueue"])
        #expect(
            run.stderrLines.first
                == "error: The value 'kqueue' is invalid for '--backend <backend>'. Please provide one of 'poll' and 'epoll'.",
            "\(run.transcript)"
        )
    }

    @Test("the library takes the backend it is given: Reactor() is poll whatever SOCKETTOOL_BACKEND says")
    func libraryIgnoresTheEnvironment() throws {
        #expect(try Reactor().kind == .poll)
        for kind in SelectorKind.allCases { #expect(try Reactor(kind: kind).kind == kind) }
    }
}

/// Starts `arguments` with --json, reads the listening event's "backend", and stops the server.
private func listeningBackend(_ arguments: [String], environment: [String: String] = [:]) throws -> String {
    let server = try ChildProcess(sockettool: arguments + ["--json"], environment: environment)
    let line = try server.waitForLine { $0.contains(#""event": "listening""#) }
    let event = try #require(try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any], "\(line)")
    server.send(SIGTERM)
    #expect(try server.waitForExit() == 0, "\(server.transcript)")
    return try #require(event["backend"] as? String, "no backend in the listening event: \(line)")
}
