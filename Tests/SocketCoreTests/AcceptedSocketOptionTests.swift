// AcceptedSocketOptionTests.swift -- the servers set TCP_NODELAY once, on the listener, and rely on Linux
// handing it to every accepted socket: one system call per server instead of one per connection.
import Glibc
import Testing

@testable import SocketCore

@Suite("accepted sockets: TCP_NODELAY comes from the listener")
struct AcceptedSocketOptionTests {
    private static func noDelay(_ socket: Socket) throws -> CInt {
        try socket.intOption(level: CInt(IPPROTO_TCP), name: TCP_NODELAY, call: "getsockopt(TCP_NODELAY)")
    }

    /// Accepts one loopback connection from `listener` and returns the accepted socket's TCP_NODELAY.
    private static func acceptedNoDelay(from listener: Socket) throws -> CInt {
        let client = try Socket.connected(to: try listener.localAddress(), timeout: .seconds(20), noDelay: false)
        defer { client.close() }
        _ = try Wait.until(Wait.deadline(after: .seconds(20)), listener.descriptor, .readable)
        let (accepted, _) = try #require(try listener.accept())
        defer { accepted.close() }
        return try noDelay(accepted)
    }

    @Test("the kernel copies the listener's TCP_NODELAY to what it accepts, and only then")
    func inheritedFromTheListener() throws {
        let loopback = SocketAddress(ipv4: "127.0.0.1", port: 0)!
        let plain = try Socket.listening(on: loopback)
        defer { plain.close() }
        #expect(try Self.acceptedNoDelay(from: plain) == 0)
        let withNoDelay = try Socket.listening(on: loopback)
        defer { withNoDelay.close() }
        try withNoDelay.setNoDelay(true)
        #expect(try Self.acceptedNoDelay(from: withNoDelay) != 0)
    }

    @Test("serve multi's and serve app's listeners have TCP_NODELAY, so their connections do")
    func serversSetItOnTheListener() throws {
        let log = EventLog(output: OutputBuffer { _ in }, diagnostics: OutputBuffer { _ in })
        let options = ServerOptions(address: SocketAddress(ipv4: "127.0.0.1", port: 0)!, maxConnections: 8)
        let multi = try ConnectionServer.multi(
            reactor: try testReactor(),
            options: options,
            echo: EchoOptions(),
            log: log
        )
        defer { multi.closeAll() }
        #expect(try Self.noDelay(multi.listener.socket) != 0)
        let app = try ConnectionServer.app(reactor: try testReactor(), options: options, app: AppOptions(), log: log)
        defer { app.closeAll() }
        #expect(try Self.noDelay(app.listener.socket) != 0)
    }
}
