// CLIContractExitStatusTests.swift -- one test per class of the exit status table `sockettool --help`
// prints: the status, one `error:` line and its `hint:` on stderr, and the same status with --json,
// whose stdout is only JSON lines ending in an "error" event with a "kind".
import Foundation
import Glibc
import SocketCore
import Testing

/// What one failure class must look like.
struct ExpectedFailure {
    /// The exit status from the table.
    let status: Int32
    /// The JSON "kind" seen for this class; nil: any snake_case kind.
    let kind: String?
    /// Whether the table's class comes with a `hint:` line.
    let hint: Bool
}

/// Runs `arguments` twice, as is and with --json, and checks both against `expected`.
/// `meanwhile` plays the peer for each run; `unprivileged` runs sockettool as user nobody; `environment` is
/// added to the contract's.
func expectFailure(
    _ arguments: [String],
    _ expected: ExpectedFailure,
    environment: [String: String] = [:],
    unprivileged: Bool = false,
    meanwhile: (() throws -> Void)? = nil,
    sourceLocation: SourceLocation = #_sourceLocation
) throws {
    let plain = try runSockettool(arguments, environment: environment, unprivileged: unprivileged, meanwhile: meanwhile)
    let command = (["sockettool"] + arguments).joined(separator: " ")
    #expect(plain.status == expected.status, "\(command)\n\(plain.transcript)", sourceLocation: sourceLocation)

    // stderr: exactly one error line, and a hint (a usage error has its usage lines instead).
    let errorLines = plain.stderrLines.filter { $0.hasPrefix("error: ") }
    #expect(errorLines.count == 1, "\(command)\n\(plain.transcript)", sourceLocation: sourceLocation)
    #expect(
        !plain.stderr.contains("Error:"),
        "one label, error:, for every error\n\(plain.stderr)",
        sourceLocation: sourceLocation
    )
    let hints = plain.stderrLines.filter { $0.hasPrefix("hint: ") }
    #expect(hints.count == (expected.hint ? 1 : 0), "\(command)\n\(plain.transcript)", sourceLocation: sourceLocation)
    // The command's own error is for people (stderr); stdout carries only events, such as a failed
    // connection among several ("error: connection 2: ...").
    #expect(
        !errorLines.contains { plain.stdoutLines.contains($0) },
        "errors belong on stderr: \(plain.stdout)",
        sourceLocation: sourceLocation
    )
    #expect(!containsEscape(plain.stderr), "piped stderr has no escape codes", sourceLocation: sourceLocation)

    // --json changes only stdout.
    let json = try runSockettool(
        arguments + ["--json"],
        environment: environment,
        unprivileged: unprivileged,
        meanwhile: meanwhile
    )
    #expect(json.status == expected.status, "\(command) --json\n\(json.transcript)", sourceLocation: sourceLocation)
    let nonEmpty = json.stdoutLines.filter { !$0.isEmpty }
    #expect(!nonEmpty.isEmpty, "\(command) --json: stdout is empty, no \"error\" event", sourceLocation: sourceLocation)
    let events = expectNDJSON(json.stdoutLines, "\(command) --json", sourceLocation: sourceLocation)
    let last = try #require(events.last, sourceLocation: sourceLocation)
    #expect(last["event"] as? String == "error", "\(json.transcript)", sourceLocation: sourceLocation)
    let kind = last["kind"] as? String
    #expect(kind.map(isSnakeCase) == true, "\(json.transcript)", sourceLocation: sourceLocation)
    if let expectedKind = expected.kind {
        #expect(kind == expectedKind, "\(json.transcript)", sourceLocation: sourceLocation)
    }
    #expect(last["message"] is String, sourceLocation: sourceLocation)
    if expected.hint { #expect(last["hint"] is String, "\(json.transcript)", sourceLocation: sourceLocation) }
}

@Suite("CLI contract: exit statuses, error and hint lines")
struct CLIContractExitStatusTests {
    static let usage = ExpectedFailure(status: 64, kind: nil, hint: false)

    @Test(
        "usage errors exit 64",
        arguments: [
            ["connect", "--no-such-flag", "127.0.0.1", "1"],
            ["connect", "127.0.0.1", "99999"],
            ["serve", "app", "127.0.0.1", "99999"],
            ["search", "127.0.0.1", "1", "x", "--quiet", "--verbose"],
            ["connect", "127.0.0.1", "1", "-q", "-v"],
            // The payload and its echo are held to be checked: past 256 MiB in all, a usage error, not a crash.
            ["connect", "127.0.0.1", "1", "--bytes", "100000000000"],
            ["connect", "127.0.0.1", "1", "--bytes", "100000000", "--conns", "3"],
            // Port 0 means "any free port" only to a server.
            ["connect", "127.0.0.1", "0"],
            ["search", "127.0.0.1", "0", "x"],
            // Load-mode options outside load mode would be ignored without a word.
            ["connect", "127.0.0.1", "1", "--size", "100"],
            ["connect", "127.0.0.1", "1", "--threads", "2", "--conns", "2"],
            ["search", "127.0.0.1", "1", "x", "--concurrency", "4"],
            ["flood", "127.0.0.1:65432"],
            // A budget smaller than one largest request could never serve it.
            ["serve", "app", "127.0.0.1", "0", "--max-buffered", "1000"],
            // A rate is not a size.
            ["connect", "127.0.0.1", "1", "--bytes", "1m/s"],
            ["flood", "--plot", ""],
            // serve needs a server named: exiting 0 there would let a script believe one ran.
            ["serve"],
        ]
    )
    func usageError(arguments: [String]) throws {
        try expectFailure(arguments, Self.usage)
    }

    @Test(
        "a load-mode flag outside load mode is named as such, before any range check on it",
        arguments: [
            (["search", "127.0.0.1", "1", "x", "--threads", "2"], "--threads applies to load mode only"),
            (["connect", "127.0.0.1", "1", "--conns", "1", "--threads", "2"], "--threads applies to load mode only"),
            (["connect", "127.0.0.1", "1", "--size", "0"], "--size applies to load mode only"),
        ]
    )
    func loadFlagOutsideLoadMode(arguments: [String], message: String) throws {
        let result = try runSockettool(arguments)
        #expect(result.status == Self.usage.status, "\(result.transcript)")
        #expect(result.stderr.contains(message), "\(result.transcript)")
    }

    @Test("serve with no server named: its own usage line on stderr, nothing on stdout")
    func serveAlone() throws {
        let result = try runSockettool(["serve"])
        #expect(result.status == Self.usage.status)
        #expect(result.stdoutLines.isEmpty, "\(result.stdoutLines)")
        #expect(
            result.stderr.contains("error: Name the server to run: echo, multi, app or discard."),
            "\(result.stderr)"
        )
        #expect(result.stderr.contains("Usage: sockettool serve <subcommand>"), "\(result.stderr)")
    }

    /// Every seconds flag shares one parser; before it, `nan` trapped in the conversion to nanoseconds
    /// (exit 132) and `-1` read as a missing value.
    @Test(
        "seconds flags refuse nan, inf and negative values with a usage error naming the flag",
        arguments: [
            (["connect", "127.0.0.1", "1", "--timeout", "nan"], "--timeout"),
            (["connect", "127.0.0.1", "1", "--connect-timeout", "inf"], "--connect-timeout"),
            (["connect", "127.0.0.1", "1", "--duration", "-1"], "--duration"),
            (["search", "127.0.0.1", "1", "x", "--timeout", "nan"], "--timeout"),
            (["serve", "app", "127.0.0.1", "0", "--request-timeout", "nan"], "--request-timeout"),
            (["serve", "multi", "127.0.0.1", "0", "--idle-timeout", "-0.5"], "--idle-timeout"),
            (["serve", "echo", "127.0.0.1", "0", "--idle-timeout", "1e999"], "--idle-timeout"),
            (["serve", "multi", "127.0.0.1", "0", "--grace", "nan"], "--grace"),
            (["flood", "--quiet-period", "nan"], "--quiet-period"),
        ]
    )
    func secondsFlagRefusesNonsense(arguments: [String], flag: String) throws {
        let result = try runSockettool(arguments, timeout: .seconds(10))
        #expect(result.status == 64, "\(result.transcript)")
        #expect(result.stderr.contains("for '\(flag) <seconds>'"), "\(result.transcript)")
        #expect(!result.stderr.contains("Swift runtime failure"), "\(result.transcript)")
    }

    @Test("connection refused exits 69")
    func refused() throws {
        let closed = try ClosedPort()
        try withExtendedLifetime(closed) {
            try expectFailure(
                ["connect", "127.0.0.1", String(closed.port)],
                ExpectedFailure(status: 69, kind: "connection_refused", hint: true)
            )
            try expectFailure(
                ["search", "127.0.0.1", String(closed.port), "morpheus"],
                ExpectedFailure(status: 69, kind: "connection_refused", hint: true)
            )
        }
    }

    /// Following the hint must give a server that speaks the client's protocol: `connect` waits forever
    /// on an app server, which reads "He" of "Hello, world" as a header length.
    @Test("the refused hint names the server each client needs, at the address it tried")
    func refusedHintNamesTheRightServer() throws {
        let closed = try ClosedPort()
        let port = String(closed.port)
        let connect = try runSockettool(["connect", "127.0.0.1", port])
        #expect(connect.stderr.contains("'sockettool serve multi 127.0.0.1 \(port)'"), "\(connect.transcript)")
        let search = try runSockettool(["search", "127.0.0.1", port, "morpheus"])
        #expect(search.stderr.contains("'sockettool serve app 127.0.0.1 \(port)'"), "\(search.transcript)")
        withExtendedLifetime(closed) {}
    }

    @Test("unknown host exits 68")
    func unknownHost() throws {
        // RFC 6761: names under .invalid never resolve.
        try expectFailure(
            ["connect", "no-such-host.invalid", "65432"],
            ExpectedFailure(status: 68, kind: "unknown_host", hint: true)
        )
    }

    @Test(
        "HOST:PORT in one argument: a usage error that says how to split them",
        arguments: [
            (["serve", "app", "127.0.0.1:1"], "'127.0.0.1 1', not '127.0.0.1:1'"),
            (["connect", "[::1]:65432"], "'::1 65432', not '[::1]:65432'"),
            (["search", "localhost:65432", "65432", "x"], "'localhost 65432', not 'localhost:65432'"),
        ]
    )
    func hostAndPortTogether(arguments: [String], split: String) throws {
        let result = try runSockettool(arguments)
        #expect(result.status == Self.usage.status, "\(result.transcript)")
        #expect(
            result.stderrLines.contains("error: Host and port are separate arguments: \(split)."),
            "\(result.transcript)"
        )
    }

    @Test("an IPv6 address is not mistaken for HOST:PORT: it is dialled, and refused by the closed port")
    func ipv6AddressIsAHost() throws {
        // The IPv4-mapped form of 127.0.0.1: colons in the host, and a port that stays closed throughout.
        let closed = try ClosedPort()
        let port = String(closed.port)
        try expectFailure(
            ["connect", "::ffff:127.0.0.1", port],
            ExpectedFailure(status: 69, kind: "connection_refused", hint: true)
        )
        let result = try runSockettool(["connect", "::ffff:127.0.0.1", port])
        #expect(
            result.stderrLines.first == "error: connect([::ffff:127.0.0.1]:\(port)): Connection refused",
            "\(result.transcript)"
        )
        withExtendedLifetime(closed) {}
    }

    @Test(
        "a response that never comes times out: exit 75, for one connection or for all of --conns",
        arguments: [["search", "morpheus"], ["connect"], ["connect", "--conns", "2"]]
    )
    func timeout(command: [String]) throws {
        // The kernel completes the handshake from the listen queue; nobody ever reads or answers.
        let listener = try LoopbackListener()
        try withExtendedLifetime(listener) {
            try expectFailure(
                [command[0], "127.0.0.1", String(listener.port)] + command.dropFirst() + ["--timeout", "0.3"],
                ExpectedFailure(status: 75, kind: "timed_out", hint: true)
            )
        }
    }

    @Test("cannot listen: the port is in use, exit 73")
    func addressInUse() throws {
        let listener = try LoopbackListener()
        try withExtendedLifetime(listener) {
            try expectFailure(
                ["serve", "app", "127.0.0.1", String(listener.port)],
                ExpectedFailure(status: 73, kind: "address_in_use", hint: true)
            )
        }
    }

    @Test("cannot listen: the address is not on this machine, exit 73")
    func addressNotAvailable() throws {
        // 192.0.2.1 is TEST-NET-1 (RFC 5737): documentation only, on no interface.
        try expectFailure(
            ["serve", "app", "192.0.2.1", "0"],
            ExpectedFailure(status: 73, kind: "address_not_available", hint: true)
        )
    }

    @Test(
        "permission denied: a privileged port, bound as user nobody, exits 77",
        .enabled(if: PrivilegedPort.number != nil, "net.ipv4.ip_unprivileged_port_start lets anyone bind every port")
    )
    func permissionDenied() throws {
        let port = try #require(PrivilegedPort.number)
        try expectFailure(
            ["serve", "app", "127.0.0.1", String(port)],
            ExpectedFailure(status: 77, kind: "permission_denied", hint: true),
            unprivileged: true
        )
    }

    @Test("the echo differs from what was sent: exit 1")
    func bytesDiffer() throws {
        let listener = try LoopbackListener()
        // A broken echo server: it answers every byte with its case swapped.
        let brokenEcho = {
            let peer = try listener.accept()
            let received = try peer.readExactly(12)
            try peer.send(Array(String(decoding: received, as: UTF8.self).uppercased().utf8))
            peer.close()
        }
        try expectFailure(
            ["connect", "127.0.0.1", String(listener.port)],
            ExpectedFailure(status: 1, kind: "mismatch", hint: false),
            meanwhile: brokenEcho
        )
    }
}
