// UnixSocketTests.swift -- Unix domain sockets in-process: the address type, the servers and clients over a
// socket in a temporary directory, and the socket file's rules (a stale one replaced, anything else
// refused, the server's own removed when it stops).
import Foundation
import Glibc
import SocketCore
import Testing

/// A temporary directory for one test's socket files, removed with them.
final class SocketDirectory {
    let path: String

    init() throws {
        // Short, under /tmp: sun_path holds 107 bytes.
        path = try FileManager.default.url(
            for: .itemReplacementDirectory,
            in: .userDomainMask,
            appropriateFor: URL(fileURLWithPath: "/tmp"),
            create: true
        ).path
    }

    func address(_ name: String) -> SocketAddress { SocketAddress(unixPath: path + "/" + name)! }

    deinit { try? FileManager.default.removeItem(atPath: path) }
}

@Suite("Unix domain sockets in-process: addresses, servers and clients, the socket file")
struct UnixSocketTests {
    @Test("a Unix address prints as its path, has no port, and refuses paths sun_path cannot hold")
    func addressText() throws {
        let address = try #require(SocketAddress(unixPath: "/tmp/app.sock"))
        #expect(address.isUnix && address.description == "/tmp/app.sock" && address.host == "/tmp/app.sock")
        #expect(address.port == 0 && !address.isLoopback && !address.isWildcard)
        #expect(SocketAddress(unixPath: String(repeating: "a", count: SocketAddress.maximumUnixPathLength)) != nil)
        #expect(SocketAddress(unixPath: String(repeating: "a", count: SocketAddress.maximumUnixPathLength + 1)) == nil)
        #expect(SocketAddress(unixPath: "") == nil)
    }

    @Test("serve multi and connect over a Unix socket: the echo, the peer shown as this process, the file removed")
    func multiEcho() throws {
        let sockets = try SocketDirectory()
        let address = sockets.address("multi.sock")
        let server = try InProcessServer(.multi, on: address)
        #expect(server.address == address)
        #expect(FileManager.default.fileExists(atPath: address.host))
        let summary = try EchoClient.run(
            target: DialTarget(address),
            payload: Array("over a path".utf8),
            options: ClientOptions(),
            log: ClientProgramTests.capturingLog(PrintedLines()),
            reactor: try testReactor()
        )
        server.stop()
        #expect(summary.bytesReceived == 11)
        // The client is unnamed: shown by SO_PEERCRED (this process), never as the server's own path.
        #expect(
            server.printed.contains("Accepted connection from unix:pid=\(getpid()),uid=\(getuid())"),
            "\(server.printed)"
        )
        #expect(!FileManager.default.fileExists(atPath: address.host), "the server's socket file outlived it")
    }

    @Test("serve app and search over a Unix socket: the guide's answer")
    func appSearch() throws {
        let sockets = try SocketDirectory()
        let server = try InProcessServer(.app, on: sockets.address("app.sock"))
        defer { server.stop() }
        let response = try SearchClient.run(
            target: DialTarget(server.address),
            request: AppProtocol.searchRequest(action: "search", value: "ring"),
            options: ClientOptions(),
            maximumContentLength: 1 << 20,
            log: ClientProgramTests.capturingLog(PrintedLines()),
            reactor: try testReactor()
        )
        let text = String(decoding: response.frame.content, as: UTF8.self)
        #expect(text.contains("In the caves beneath the Misty Mountains."), "\(text)")
    }

    @Test("a stale socket file (nothing listening) is replaced")
    func staleSocketReplaced() throws {
        let sockets = try SocketDirectory()
        let address = sockets.address("stale.sock")
        // A socket bound and closed without unlink: the file stays, nobody listens.
        let old = try Socket(family: AddressFamily.unix)
        try old.bind(to: address)
        old.close()
        let listener = try Socket.listening(on: address)
        #expect(try listener.localAddress() == address)
        listener.closeListener()
        #expect(!FileManager.default.fileExists(atPath: address.host))
    }

    @Test("a path with a server listening, or with a file that is not a socket, is never taken")
    func occupiedPathsRefused() throws {
        let sockets = try SocketDirectory()
        let live = sockets.address("live.sock")
        let first = try Socket.listening(on: live)
        defer { first.closeListener() }
        #expect(throws: UnixSocketPathError.inUse(live.host)) { _ = try Socket.listening(on: live) }
        #expect(FileManager.default.fileExists(atPath: live.host))
        let plain = sockets.address("plain.txt")
        try "keep me".write(toFile: plain.host, atomically: true, encoding: .utf8)
        #expect(throws: UnixSocketPathError.notASocket(plain.host)) { _ = try Socket.listening(on: plain) }
        #expect(try String(contentsOfFile: plain.host, encoding: .utf8) == "keep me")
    }

    @Test("SO_PEERCRED: an accepted Unix connection names this process and user")
    func peerCredentials() throws {
        let sockets = try SocketDirectory()
        let address = sockets.address("cred.sock")
        let listener = try Socket.listening(on: address)
        defer { listener.closeListener() }
        let (client, _) = try Socket.connecting(to: address)
        defer { client.close() }
        let (accepted, peer) = try #require(try listener.accept())
        defer { accepted.close() }
        let credentials = try #require(accepted.peerCredentials())
        #expect(credentials.processID == getpid() && credentials.userID == getuid())
        #expect(peer.shownPeer(listeningOn: address).description == address.host)
        #expect(
            peer.shownPeer(listeningOn: address, credentials: credentials).description
                == "unix:pid=\(getpid()),uid=\(getuid())"
        )
    }
}
