// ServeAppTests.swift -- `serve app` and `search` together, tried as a new user would: the README's
// transcripts, read from README.md, line by line, over IPv4 and IPv6 loopback.
import Foundation
import Glibc
import SocketCore
import Testing

@Suite("serve app + search: the guide's application client and server")
struct ServeAppTests {
    @Test("serve app and search morpheus print the README's two transcripts, line for line")
    func readmeTranscript() throws {
        let server = try ChildProcess(sockettool: ["serve", "app", "127.0.0.1", "0"])
        let port = try server.listeningPort()
        let search = try ChildProcess.sockettool(["search", "127.0.0.1", String(port), "morpheus"])
        #expect(search.status == 0, "\(search.stderr)")
        _ = try server.waitForLine { $0.hasPrefix("Closing connection to ") }
        server.send(SIGINT)
        #expect(try server.waitForExit() == 0, "\(server.transcript)")
        let served = server.stdoutLines + (try server.remainingLines())

        // The README's transcripts, with its ports (65432, and the client's 54490) replaced by this run's.
        let readme = try String(
            contentsOf: ContractPaths.packageRoot.appendingPathComponent("README.md"),
            encoding: .utf8
        )
        let readmeServer = try #require(Self.transcript(of: "$ sockettool serve app 127.0.0.1 65432", in: readme))
        let readmeSearch = try #require(Self.transcript(of: "$ sockettool search 127.0.0.1 65432 morpheus", in: readme))
        let readmePeer = try #require(
            readmeServer.lazy.compactMap { $0.suffixAfter("Accepted connection from ") }.first,
            "\(readmeServer)"
        )
        let peer = try #require(
            served.lazy.compactMap { $0.suffixAfter("Accepted connection from ") }.first,
            "\(served)"
        )
        #expect(isLoopbackAddress(peer))
        func thisRun(_ line: String) -> String {
            line.replacingOccurrences(of: readmePeer, with: peer)
                .replacingOccurrences(of: "127.0.0.1:65432", with: "127.0.0.1:\(port)")
        }
        #expect(search.stdout.split(separator: "\n").map(String.init) == readmeSearch.map(thisRun))
        #expect(served == readmeServer.map(thisRun))
    }

    /// The lines a fenced block of `markdown` shows under the command line `command`, up to the next
    /// command or the end of the block.
    static func transcript(of command: String, in markdown: String) -> [String]? {
        let lines = markdown.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        guard let start = lines.firstIndex(of: command) else { return nil }
        return Array(lines[(start + 1)...].prefix { !$0.hasPrefix("```") && !$0.hasPrefix("$ ") })
    }

    @Test("search --binary 😃 prints the guide's binary exchange")
    func binaryRequest() throws {
        try withServer(["serve", "app", "127.0.0.1", "0"]) { server, port in
            let search = try ChildProcess.sockettool(["search", "127.0.0.1", String(port), "--binary", "\u{1F603}"])
            #expect(search.status == 0, "\(search.stderr)")
            let lines = search.stdout.split(separator: "\n").map(String.init)
            #expect(lines.contains("Received binary/custom-server-binary-type response from 127.0.0.1:\(port)"))
            #expect(lines.contains(#"Got response: b'First 10 bytes of request: binary\xf0\x9f\x98\x83'"#))
            let received = try server.waitForLine { $0.hasPrefix("Received ") }
            #expect(received.hasPrefix("Received binary/custom-client-binary-type request from 127.0.0.1:"))
        }
    }

    @Test(
        "serve app on ::1 and search ::1: IPv6 addresses print as [::1]:port",
        .enabled(if: IPv6Loopback.isAvailable, Comment(rawValue: IPv6Loopback.missing))
    )
    func ipv6Loopback() throws {
        try withServer(["serve", "app", "::1", "0"]) { server, port in
            #expect(server.stdoutLines.first == "Listening on [::1]:\(port)")
            let search = try ChildProcess.sockettool(["search", "::1", String(port), "ring"])
            #expect(search.status == 0, "\(search.stderr)")
            let lines = search.stdout.split(separator: "\n").map(String.init)
            #expect(lines.first == "Starting connection to [::1]:\(port)")
            #expect(lines.contains("Got result: In the caves beneath the Misty Mountains. \u{1F48D}"))
            let accepted = try server.waitForLine { $0.hasPrefix("Accepted connection from ") }
            #expect(accepted.wholeMatch(of: /Accepted connection from \[::1\]:\d+/) != nil, "\(accepted)")

            // And the guide's own client over IPv6 gets the same answer.
            let peer = try GuidePeer.run(["client", "::1", String(port), "search", "ring"])
            #expect(peer.status == 0, "\(peer.lines)")
            #expect(peer.lines.contains("Got result: In the caves beneath the Misty Mountains. \u{1F48D}"))
        }
    }

    @Test("an idle serve app holding 100 silent connections uses (near) zero CPU over 2 s")
    func idleServerUsesNoCPU() throws {
        try withServer(["serve", "app", "127.0.0.1", "0", "-q"]) { server, port in
            let idle = try ProcessProbe.openDescriptors(server.pid)
            let clients = try (0..<100).map { _ in try LoopbackClient.connect(port: port) }
            let allAccepted = try eventually { try ProcessProbe.openDescriptors(server.pid) >= idle + 100 }
            #expect(allAccepted, "the server did not accept 100 connections")
            let before = try ProcessProbe.cpuTicks(server.pid)
            var none = pollfd(fd: -1, events: 0, revents: 0)
            _ = poll(&none, 0, 2000)  // the measurement window itself
            let after = try ProcessProbe.cpuTicks(server.pid)
            #expect(after - before < 5, "\(after - before) ticks of CPU in 2 s idle")
            for client in clients { try client.send(AppWire.searchRequest("ring")) }
            for client in clients {
                #expect(
                    AppWire.result(of: try client.readFrame()) == "In the caves beneath the Misty Mountains. \u{1F48D}"
                )
            }
        }
    }

    @Test("many searches at once are all answered")
    func concurrentSearches() throws {
        try withServer(["serve", "app", "127.0.0.1", "0", "-q"]) { _, port in
            let values = ["morpheus", "ring", "\u{1F436}", "nobody"]
            let clients = try (0..<40).map { index in
                try ChildProcess(sockettool: ["search", "127.0.0.1", String(port), values[index % 4], "-q"])
            }
            let expected = [
                "Got result: Follow the white rabbit. \u{1F430}",
                "Got result: In the caves beneath the Misty Mountains. \u{1F48D}",
                "Got result: \u{1F43E} Playing ball! \u{1F3D0}",
                "Got result: No match for 'nobody'.",
            ]
            for (index, client) in clients.enumerated() {
                #expect(try client.waitForExit() == 0, "\(client.transcript)")
                #expect(try client.remainingLines() == [expected[index % 4]])
            }
        }
    }
}
