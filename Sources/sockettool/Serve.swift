// Serve.swift -- `serve`: the three servers of the guide.
import ArgumentParser
import Glibc
import SocketCore

struct Serve: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Run one of the guide's servers (echo, multi, app) or discard.",
        discussion: """
            A server listens on 127.0.0.1 (this machine only) unless given a host;
            '', 0.0.0.0 or :: listen on every interface. Port 0 picks a free port
            and prints it. SIGINT, SIGTERM or SIGHUP stops accepting; multi and app
            let work in flight finish (--grace), echo closes its one client and
            discard its senders at once; then the server exits 0. A second signal
            exits at once. SIGUSR1 prints one stats line (connections, requests,
            bytes, errors, uptime), as dd does; --stats-interval prints it
            periodically.

            Under systemd (docs/service.md) a server takes the socket of its
            .socket unit (LISTEN_FDS) instead of binding HOST PORT, and tells the
            manager READY=1, STATUS=, STOPPING=1 and WATCHDOG=1 (NOTIFY_SOCKET).

            Examples:
              sockettool serve echo 127.0.0.1 65432
              sockettool serve multi 0.0.0.0 65432
              sockettool serve app            (127.0.0.1:65432, the guide's address)
              sockettool serve app 0          (a free port, printed on the first line)
              sockettool serve discard 5201   (reads and drops what clients send)
              sockettool serve app --unix /tmp/app.sock   (a Unix socket; removed at exit)
              sockettool serve multi -6 localhost 65432   (IPv6 only, says what it bound)
            """,
        subcommands: [ServeEcho.self, ServeMulti.self, ServeApp.self, ServeDiscard.self]
    )

    /// `sockettool serve` alone names no server: a usage error (exit 64), not a silent success.
    /// Printed here because an error thrown from run() would show the root command's usage.
    func run() throws {
        OutputBuffer(descriptor: STDERR_FILENO, policy: .eachLine).writeLine(
            """
            error: Name the server to run: echo, multi, app or discard.
            Usage: sockettool serve <subcommand>
              See 'sockettool serve --help' for more information.
            """
        )
        throw ExitCode(ExitStatus.usage)
    }
}
