// ServeEchoTests.swift -- `serve echo` (the guide's echo-server.py) with `connect` (echo-client.py), over
// real loopback sockets.
import Foundation
import Glibc
import SocketCore
import Testing

@Suite("serve echo + connect: the guide's echo server and client")
struct ServeEchoTests {
    @Test(
        "connect prints the echo the way echo-client.py does",
        arguments: [
            ([], "Received b'Hello, world'"),
            (["-m", "one", "-m", "two"], "Received b'onetwo'"),
            (["-m", "caf\u{E9}\t\\"], #"Received b'caf\xc3\xa9\t\\'"#),
        ]
    )
    func echoServerAndClient(messages: [String], expected: String) throws {
        let server = try ChildProcess(sockettool: ["serve", "echo", "127.0.0.1", "0"])
        let port = try server.listeningPort()
        let client = try ChildProcess.sockettool(["connect", "127.0.0.1", String(port)] + messages)
        #expect(client.status == 0, "\(client.stderr)")
        #expect(client.stdout == expected)

        // Without --keep the server ends after its one client, as echo-server.py does.
        #expect(try server.waitForExit() == 0, "\(server.transcript)")
        let lines = server.stdoutLines + (try server.remainingLines())
        #expect(lines.count == 3, "\(lines)")
        #expect(lines.first == "Listening on 127.0.0.1:\(port)")
        let peer = try #require(lines.dropFirst().first?.suffixAfter("Connected by "), "\(lines)")
        #expect(isLoopbackAddress(peer))
        #expect(lines.last == "Closing connection to \(peer)")
    }

    @Test("serve echo --keep serves clients one after another")
    func keepServesClientsInTurn() throws {
        try withServer(["serve", "echo", "127.0.0.1", "0", "--keep"]) { server, port in
            let first = try LoopbackClient.connect(port: port)
            try first.send(Array("first".utf8))
            #expect(try first.readExactly(5) == Array("first".utf8))

            // The second client waits in the listen queue while the first is served: the kernel completed its
            // handshake, the server has not accepted it, and it has no answer.
            let second = try ChildProcess(sockettool: ["connect", "127.0.0.1", String(port), "-m", "second"])
            let queued = try eventually { try ResilienceSockets.acceptQueue(port: port) == 1 }
            #expect(queued, "the second client is not waiting in the accept queue: \(second.transcript)")
            #expect(resilienceProcessIsRunning(second.pid), "answered while the first was served: \(second.transcript)")
            first.close()
            #expect(try second.waitForExit() == 0, "\(second.transcript)")
            #expect(second.stdoutLines + (try second.remainingLines()) == ["Received b'second'"])

            // And a third after that: the server is still there.
            let third = try ChildProcess.sockettool(["connect", "127.0.0.1", String(port)])
            #expect(third.status == 0)
            #expect(third.stdout == "Received b'Hello, world'")

            var connected: [String] = []
            while connected.count < 3 {
                let line = try server.waitForLine { $0.hasPrefix("Connected by ") }
                connected.append(line)
            }
            #expect(Set(connected).count == 3, "three different client ports: \(connected)")
            server.send(SIGTERM)
            #expect(try server.waitForExit() == 0)
        }
    }
}
