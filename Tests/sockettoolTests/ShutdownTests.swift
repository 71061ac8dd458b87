// ShutdownTests.swift -- SIGTERM and SIGINT end every server cleanly: exit 0, the guide's line, open
// clients closed, and the port free again the moment the process is gone.
import Foundation
import Glibc
import SocketCore
import Testing

@Suite("Signals end servers cleanly and free the port")
struct ShutdownTests {
    static let kinds = ["echo", "multi", "app"]

    @Test(
        "an idle server exits 0 on SIGTERM/SIGINT and leaves nothing on its port",
        arguments: kinds,
        [SIGTERM, SIGINT]
    )
    func idleServerStops(kind: String, signal: CInt) throws {
        // Held (bound, never listening, invisible to ss), so no other test's socket can appear on it below.
        let held = try HeldPort()
        let port = held.port
        let server = try ChildProcess(sockettool: ["serve", kind, "127.0.0.1", String(port)])
        #expect(try server.listeningPort() == port)
        server.send(signal)
        #expect(try server.waitForExit() == 0, "\(server.transcript)")
        let lines = server.stdoutLines + (try server.remainingLines())
        let expected = signal == SIGINT ? "Caught keyboard interrupt, exiting" : "Caught SIGTERM, exiting"
        #expect(lines.last == expected, "\(lines)")
        // Nothing at all is left on the port: no listener, no TIME_WAIT, nothing the kernel still holds.
        let left = try socketsOnPort(port)
        #expect(left.isEmpty, "still on port \(port): \(left)")
        withExtendedLifetime(held) {}
    }

    @Test(
        "SIGTERM with clients: open connections are closed, exit 0, and a new server takes the port",
        arguments: kinds
    )
    func busyServerStops(kind: String) throws {
        // A port held for the whole test, so the restart below finds it free of other tests.
        let held = try HeldPort()
        let port = held.port
        // Nothing is in flight, so the grace period must go unused: a long one would outlast the bounded wait.
        let extra = kind == "echo" ? ["--keep"] : ["--grace", "600"]
        let server = try ChildProcess(sockettool: ["serve", kind, "127.0.0.1", String(port)] + extra)
        #expect(try server.listeningPort() == port)

        // One client served completely, one left connected and silent.
        if kind == "app" {
            let search = try ChildProcess.sockettool(["search", "127.0.0.1", String(port), "morpheus"])
            #expect(search.status == 0, "\(search.stderr)")
        } else {
            let echo = try ChildProcess.sockettool(["connect", "127.0.0.1", String(port)])
            #expect(echo.status == 0, "\(echo.stderr)")
        }
        let idle = try LoopbackClient.connect(port: port)
        // Both accepted (the second is the idle one) before the signal.
        let acceptedLine = kind == "echo" ? "Connected by" : "Accepted connection"
        for _ in 0..<2 { _ = try server.waitForLine { $0.hasPrefix(acceptedLine) } }

        server.send(SIGTERM)
        #expect(idle.readToEnd().end == .eof, "the idle client is closed with a FIN")
        #expect(try server.waitForExit() == 0, "\(server.transcript)")
        #expect(
            (server.stdoutLines + (try server.remainingLines())).contains("Caught SIGTERM, exiting"),
            "\(server.transcript)"
        )

        // Free at once: for a socket of our own, and for a new sockettool on the same port.
        try bindAndListen(port: port)
        let again = try ChildProcess(sockettool: ["serve", kind, "127.0.0.1", String(port)])
        #expect(try again.nextLine() == "Listening on 127.0.0.1:\(port)", "\(again.transcript)")
        again.send(SIGTERM)
        #expect(try again.waitForExit() == 0)
        withExtendedLifetime(held) {}
    }
}

/// Binds and listens on 127.0.0.1:port with SO_REUSEADDR, as a restarted server does, then closes; throws
/// (EADDRINUSE) if something still listens there.
private func bindAndListen(port: UInt16) throws {
    let socket = try Socket(family: AF_INET)
    defer { socket.close() }
    try socket.setReuseAddress(true)
    try socket.bind(to: SocketAddress(ipv4: "127.0.0.1", port: port)!)
    try socket.listen(backlog: 1)
}

/// Every TCP socket ss lists with local port `port`, in any state.
private func socketsOnPort(_ port: UInt16) throws -> [String] {
    let result = try ChildProcess.run("ss", ["-Htan", "( sport = :\(port) )"])
    guard result.status == 0 else { throw LoopbackFailure("ss failed: \(result.stderr)") }
    return result.stdout.split(separator: "\n").map(String.init)
}
