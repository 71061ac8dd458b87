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
        "an idle server exits 0 on SIGTERM/SIGINT and the port binds again at once",
        arguments: kinds,
        [SIGTERM, SIGINT]
    )
    func idleServerStops(kind: String, signal: CInt) throws {
        let server = try ChildProcess(sockettool: ["serve", kind, "127.0.0.1", "0"])
        let port = try server.listeningPort()
        server.send(signal)
        #expect(try server.waitForExit(timeout: .seconds(5)) == 0, "\(server.transcript)")
        let lines = server.stdoutLines + (try server.remainingLines())
        let expected = signal == SIGINT ? "Caught keyboard interrupt, exiting" : "Caught SIGTERM, exiting"
        #expect(lines.last == expected, "\(lines)")
        // No SO_REUSEADDR: nothing at all may be left on the port.
        try bindAndListen(port: port, reuseAddress: false)
    }

    @Test(
        "SIGTERM with clients: open connections are closed, exit 0, and a new server takes the port",
        arguments: kinds
    )
    func busyServerStops(kind: String) throws {
        let extra = kind == "echo" ? ["--keep"] : []
        let server = try ChildProcess(sockettool: ["serve", kind, "127.0.0.1", "0"] + extra)
        let port = try server.listeningPort()

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

        let signalled = ContinuousClock.now
        server.send(SIGTERM)
        #expect(idle.readToEnd(timeout: .seconds(5)).end == .eof, "the idle client is closed with a FIN")
        #expect(try server.waitForExit(timeout: .seconds(5)) == 0, "\(server.transcript)")
        let elapsed = ContinuousClock.now - signalled
        #expect(elapsed < .seconds(2), "nothing was in flight, yet shutting down took \(elapsed)")
        #expect(
            (server.stdoutLines + (try server.remainingLines())).contains("Caught SIGTERM, exiting"),
            "\(server.transcript)"
        )

        // Free at once: for a socket of our own, and for a new sockettool on the same port.
        try bindAndListen(port: port, reuseAddress: true)
        let again = try ChildProcess(sockettool: ["serve", kind, "127.0.0.1", String(port)])
        #expect(try again.nextLine() == "Listening on 127.0.0.1:\(port)", "\(again.transcript)")
        again.send(SIGTERM)
        #expect(try again.waitForExit(timeout: .seconds(5)) == 0)
    }
}

/// Binds and listens on 127.0.0.1:port, then closes; throws (EADDRINUSE) if the port is not free.
private func bindAndListen(port: UInt16, reuseAddress: Bool) throws {
    let socket = try Socket(family: AF_INET)
    defer { socket.close() }
    if reuseAddress { try socket.setReuseAddress(true) }
    try socket.bind(to: SocketAddress(ipv4: "127.0.0.1", port: port)!)
    try socket.listen(backlog: 1)
}
