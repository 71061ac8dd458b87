// UnixInteropTests.swift -- sockettool and the guide's Python peer over a Unix socket (guide_peer.py takes
// unix:PATH as its host): both ways, and the response on the wire byte for byte the guide server's own.
import Foundation
import Testing

@Suite("interop with the guide's Python peer over a Unix socket")
struct UnixInteropTests {
    /// guide_peer.py server on unix:PATH, up once it printed its listening line.
    static func startGuideServer(at path: String) throws -> ChildProcess {
        let server = try ChildProcess("python3", [GuidePeer.script, "server", "unix:" + path, "0"])
        _ = try server.waitForLine { $0.hasPrefix("Listening on") }
        return server
    }

    /// guide_peer.py client against unix:PATH: its stdout lines once it exited 0.
    static func guideClient(_ path: String, _ action: String, _ value: String) throws -> [String] {
        let run = try ChildProcess.run("python3", [GuidePeer.script, "client", "unix:" + path, "0", action, value])
        #expect(run.status == 0, "\(run.stderr)")
        return run.stdout.split(separator: "\n").map(String.init)
    }

    @Test("sockettool search --unix against the guide's server: the guide's answer")
    func searchAgainstGuideServer() throws {
        let directory = try ScratchDirectory()
        let server = try Self.startGuideServer(at: directory.path + "/guide.sock")
        defer { server.send(SIGKILL) }
        let run = try ChildProcess.sockettool(["search", "--unix", directory.path + "/guide.sock", "morpheus", "-q"])
        #expect(run.status == 0, "\(run.stderr)")
        #expect(run.stdout == "Got result: Follow the white rabbit. \u{1F430}")
    }

    @Test("the guide's client against serve app --unix: the same response bytes as from the guide's server")
    func guideClientAgainstServeApp() throws {
        let directory = try ScratchDirectory()
        let guide = try Self.startGuideServer(at: directory.path + "/guide.sock")
        defer { guide.send(SIGKILL) }
        let reference = try Self.guideClient(directory.path + "/guide.sock", "search", "ring")
        let ours = try ChildProcess(sockettool: ["serve", "app", "--unix", directory.path + "/ours.sock", "-q"])
        _ = try ours.waitForLine { $0.hasPrefix("Listening on ") }
        let lines = try Self.guideClient(directory.path + "/ours.sock", "search", "ring")
        #expect(lines.contains("Got result: In the caves beneath the Misty Mountains. \u{1F48D}"), "\(lines)")
        let response = try #require(GuidePeer.raw("RAW-RESPONSE", in: lines))
        #expect(response == GuidePeer.raw("RAW-RESPONSE", in: reference))
        ours.send(SIGINT)
        _ = try ours.waitForExit()
    }
}
