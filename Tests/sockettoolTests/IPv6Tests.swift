// IPv6Tests.swift -- the servers and clients over ::1, and a server on :: reached over both families. ::1 is
// on lo wherever IPv6 is not switched off; a machine without it skips these, and says so.
import Foundation
import Glibc
import SocketCore
import Testing

/// Whether ::1 can be bound here.
enum IPv6Loopback {
    static let isAvailable: Bool = {
        guard let socket = try? Socket(family: AF_INET6) else { return false }
        defer { socket.close() }
        return (try? socket.bind(to: SocketAddress(ipv6: "::1", port: 0)!)) != nil
    }()

    static let missing = "::1 cannot be bound here (IPv6 is off on lo): the IPv6 tests need it"
}

@Suite("IPv6: ::1 and ::, both ways", .enabled(if: IPv6Loopback.isAvailable, Comment(rawValue: IPv6Loopback.missing)))
struct IPv6Tests {
    @Test("serve multi on ::1 and connect ::1: the echo comes back, addresses print as [::1]:port")
    func multiOverLoopback() throws {
        try withServer(["serve", "multi", "::1", "0"]) { server, port in
            #expect(server.stdoutLines.first == "Listening on [::1]:\(port)")
            let run = try ChildProcess.sockettool(["connect", "::1", String(port), "-m", "over six"])
            #expect(run.status == 0, "\(run.stderr)")
            #expect(run.stdout == "Received b'over six'", "\(run.stdout)")
            let accepted = try server.waitForLine { $0.hasPrefix("Accepted connection from ") }
            #expect(accepted.wholeMatch(of: /Accepted connection from \[::1\]:\d+/) != nil, "\(accepted)")
        }
    }

    @Test("serve app on :: takes IPv4 and IPv6 clients alike", arguments: ["127.0.0.1", "::1"])
    func dualStackWildcard(client host: String) throws {
        try withServer(["serve", "app", "::", "0", "-q"]) { _, port in
            let search = try ChildProcess.sockettool(["search", host, String(port), "ring", "-q"])
            #expect(search.status == 0, "\(search.stderr)")
            #expect(search.stdout == "Got result: In the caves beneath the Misty Mountains. \u{1F48D}")
        }
    }

    @Test("the guide's Python server on ::1 answers search ::1")
    func pythonServerOverLoopback() throws {
        let (server, port) = try GuidePeer.startServer(host: "::1")
        defer { server.send(SIGTERM) }
        let search = try ChildProcess.sockettool(["search", "::1", String(port), "morpheus", "-q"])
        #expect(search.status == 0, "\(search.stderr)")
        #expect(search.stdout == "Got result: Follow the white rabbit. \u{1F430}")
    }

    @Test("a closed port on ::1: refused, exit 69, the error names [::1]:port")
    func refusedOverLoopback() throws {
        let closed = try ClosedPort(host: "::1")
        let run = try ChildProcess.sockettool(["connect", "::1", String(closed.port)])
        #expect(run.status == 69, "\(run.stderr)")
        #expect(run.stderr.hasPrefix("error: connect([::1]:\(closed.port)): Connection refused"), "\(run.stderr)")
        withExtendedLifetime(closed) {}
    }
}
