// ClientConnectionTests.swift -- the one client lifecycle, in this process on a real reactor over loopback:
// every address tried (and in which order), the handshake and progress deadlines, half-close, and a life
// that ends exactly once.
import Foundation
import Glibc
import SocketCore
import Testing

@Suite("ClientConnection: dial every address, deadlines, half-close, one end", .serialized)
struct ClientConnectionTests {
    // MARK: - The order (RFC 8305 section 4), as a pure function

    static let v4a = SocketAddress(ipv4: "127.0.0.1", port: 1)!
    static let v4b = SocketAddress(ipv4: "127.0.0.2", port: 1)!
    static let v4c = SocketAddress(ipv4: "127.0.0.3", port: 1)!
    static let v6a = SocketAddress(ipv6: "::1", port: 1)!
    static let v6b = SocketAddress(ipv6: "::2", port: 1)!

    @Test("families alternate, starting with the resolver's first; order within a family is kept")
    func happyEyeballsOrder() {
        #expect(
            HappyEyeballs.order([Self.v6a, Self.v6b, Self.v4a, Self.v4b]) == [Self.v6a, Self.v4a, Self.v6b, Self.v4b]
        )
        #expect(
            HappyEyeballs.order([Self.v4a, Self.v4b, Self.v4c, Self.v6a]) == [Self.v4a, Self.v6a, Self.v4b, Self.v4c]
        )
        #expect(HappyEyeballs.order([Self.v4b, Self.v4a]) == [Self.v4b, Self.v4a])
        #expect(HappyEyeballs.order([Self.v6a, Self.v4a, Self.v6a, Self.v4a]) == [Self.v6a, Self.v4a])
        #expect(HappyEyeballs.order([]) == [])
    }

    @Test("a source address leaves out the other family")
    func sourceFiltersFamily() {
        let target = DialTarget(
            addresses: [Self.v6a, Self.v4a, Self.v4b],
            source: SocketAddress(ipv4: "127.0.0.1", port: 0)!
        )
        #expect(target.addresses == [Self.v4a, Self.v4b])
    }

    // MARK: - Every address

    @Test("the first address refuses: the next one is tried at once and wins")
    func fallsBackToTheNextAddress() throws {
        let server = try InProcessServer(.multi)
        defer { server.stop() }
        let refusing = try RefusingPort()
        defer { refusing.close() }
        let reactor = try testReactor()
        let exchange = RecordingExchange(reactor: reactor, options: ClientOptions(connectTimeout: .seconds(10)))
        exchange.onConnected = { connection in connection.close() }
        let started = MonotonicClock.now()
        exchange.connection.open(DialTarget(addresses: [refusing.address, server.address]))
        try runClientLoop(reactor)
        #expect(exchange.connectedCount == 1)
        #expect(exchange.failures == [nil])
        #expect(exchange.connection.address == server.address)
        // A refusal starts the next attempt at once, not after the attempt delay.
        #expect(MonotonicClock.now() - started < HappyEyeballs.attemptDelay.nanoseconds * 4)
    }

    @Test(
        "::1 first, where nothing listens, then 127.0.0.1: the IPv4 address answers",
        .enabled(if: hasIPv6Loopback, "this machine has no ::1 to try first")
    )
    func ipv6FirstThenIPv4() throws {
        let server = try InProcessServer(.multi)
        defer { server.stop() }
        var six = loopbackIPv6
        six.port = server.address.port
        let reactor = try testReactor()
        let exchange = RecordingExchange(reactor: reactor, options: ClientOptions())
        exchange.onConnected = { connection in connection.close() }
        let target = DialTarget(addresses: [six, server.address])
        #expect(target.first == six)
        exchange.connection.open(target)
        try runClientLoop(reactor)
        #expect(exchange.failures == [nil])
        #expect(exchange.connection.address == server.address)
    }

    @Test("an address that never answers: after the attempt delay the next one starts, wins, and the first is closed")
    func staggeredAttemptWins() throws {
        let server = try InProcessServer(.multi)
        defer { server.stop() }
        let hole = try BlackHole()
        defer { hole.close() }
        let reactor = try testReactor()
        let delay = Duration.milliseconds(150)
        let exchange = RecordingExchange(
            reactor: reactor,
            options: ClientOptions(connectTimeout: .seconds(20), attemptDelay: delay)
        )
        let pendingBefore = synSentCount(to: hole.address.port)
        var pendingWhenConnected = -1
        exchange.onConnected = { connection in
            pendingWhenConnected = synSentCount(to: hole.address.port)
            connection.close()
        }
        let started = MonotonicClock.now()
        exchange.connection.open(DialTarget(addresses: [hole.address, server.address]))
        try runClientLoop(reactor)
        let elapsed = MonotonicClock.now() - started
        #expect(exchange.failures == [nil])
        #expect(exchange.connection.address == server.address)
        // The second attempt waited for the delay (and not for the 20 s handshake deadline).
        #expect(elapsed >= delay.nanoseconds, "connected after \(elapsed) ns")
        #expect(elapsed < Duration.seconds(15).nanoseconds)
        // The losing attempt was closed when the winner connected: no handshake of ours still waits there.
        #expect(pendingBefore >= 1, "the black hole's own filler waits in SYN_SENT")
        #expect(
            pendingWhenConnected == pendingBefore,
            "SYN_SENT to the black hole: \(pendingBefore) before, \(pendingWhenConnected) once connected"
        )
    }

    @Test("every address fails: one finish, with the last address's failure")
    func everyAddressFails() throws {
        let first = try RefusingPort()
        let second = try RefusingPort()
        defer {
            first.close()
            second.close()
        }
        let reactor = try testReactor()
        let exchange = RecordingExchange(reactor: reactor, options: ClientOptions())
        exchange.connection.open(DialTarget(addresses: [first.address, second.address]))
        try runClientLoop(reactor)
        #expect(exchange.connectedCount == 0)
        #expect(exchange.finishedCount == 1)
        let failure = try #require(exchange.failures.first ?? nil)
        #expect(failure.kind == .refused)
        #expect(failure.systemError?.errno == .connectionRefused)
        #expect(failure.message.contains(second.address.description), "\(failure)")
    }

    // MARK: - Deadlines

    @Test("the handshake deadline: a SYN never answered fails as timed out, a system ETIMEDOUT")
    func handshakeDeadline() throws {
        let hole = try BlackHole()
        defer { hole.close() }
        let reactor = try testReactor()
        let exchange = RecordingExchange(reactor: reactor, options: ClientOptions(connectTimeout: .milliseconds(200)))
        let started = MonotonicClock.now()
        exchange.connection.open(DialTarget(hole.address))
        try runClientLoop(reactor)
        #expect(MonotonicClock.now() - started >= 200_000_000)
        let failure = try #require(exchange.failures.first ?? nil)
        #expect(failure.kind == .timedOut)
        #expect(failure.systemError?.errno == .timedOut)
    }

    @Test("the progress deadline: a server that accepts and never answers, cut after --timeout")
    func progressDeadline() throws {
        // The kernel completes the handshake from the listen queue; nobody ever reads or writes.
        let listener = try Socket.listening(on: SocketAddress(ipv4: "127.0.0.1", port: 0)!)
        defer { listener.close() }
        let reactor = try testReactor()
        let exchange = RecordingExchange(reactor: reactor, options: ClientOptions(timeout: .milliseconds(200)))
        exchange.connection.open(DialTarget(try listener.localAddress()))
        try runClientLoop(reactor)
        #expect(exchange.connectedCount == 1)
        let failure = try #require(exchange.failures.first ?? nil)
        #expect(failure.kind == .timedOut)
        #expect(failure.systemError == nil)
        #expect(failure.message.hasPrefix("the test's bytes from 127.0.0.1:"), "\(failure)")
        #expect(failure.message.hasSuffix("timed out after 0.200 s"), "\(failure)")
    }

    @Test("--timeout 0 is never: a silent server does not end the connection")
    func noProgressDeadline() throws {
        let listener = try Socket.listening(on: SocketAddress(ipv4: "127.0.0.1", port: 0)!)
        defer { listener.close() }
        let reactor = try testReactor()
        let exchange = RecordingExchange(reactor: reactor, options: ClientOptions(timeout: nil))
        exchange.connection.open(DialTarget(try listener.localAddress()))
        reactor.schedule(after: .milliseconds(400)) { _ in exchange.connection.close() }
        try runClientLoop(reactor)
        #expect(exchange.failures == [nil], "only the test's own close ended it")
    }

    @Test("progress moves the deadline: bytes every 100 ms keep a 2 s timeout from passing in a 2.5 s exchange")
    func progressMovesTheDeadline() throws {
        let server = try InProcessServer(.multi)
        defer { server.stop() }
        let reactor = try testReactor()
        // The exchange outlasts the timeout, so only progress can keep it alive; the timeout is 20 ticks long,
        // so a stall of the busy machine (loop series 10, run 5, had one over 200 ms) is not taken for silence.
        let exchange = RecordingExchange(reactor: reactor, options: ClientOptions(timeout: .seconds(2)))
        let ticks = 25
        var sends = 0
        func sendOne(_ reactor: Reactor) {
            guard exchange.connection.phase == .connected else { return }
            if sends == ticks {
                exchange.connection.close()
                return
            }
            sends += 1
            _ = try? exchange.connection.write(Array("tick".utf8), from: 0)
            reactor.schedule(after: .milliseconds(100), sendOne)
        }
        exchange.onConnected = { _ in sendOne(reactor) }
        exchange.connection.open(DialTarget(server.address))
        try runClientLoop(reactor)
        #expect(exchange.failures == [nil])
        #expect(exchange.received == Array(String(repeating: "tick", count: ticks).utf8))
    }

    // MARK: - Half-close and the end

    @Test("half-close: FIN after the request, the answer still arrives, then the peer's FIN")
    func halfClose() throws {
        let listener = try Socket.listening(on: SocketAddress(ipv4: "127.0.0.1", port: 0)!)
        defer { listener.close() }
        let peer = HalfClosePeer(listener: listener)
        let reactor = try testReactor()
        try reactor.register(listener, interest: .readable, handler: peer)
        let exchange = RecordingExchange(reactor: reactor, options: ClientOptions())
        exchange.onConnected = { (connection: ClientConnection) throws(ClientFailure) in
            _ = try connection.write(Array("ping".utf8), from: 0)
            try connection.shutdownWrite()
        }
        exchange.onEndOfStream = { connection in
            connection.close()
            peer.finish(in: reactor)
        }
        exchange.connection.open(DialTarget(try listener.localAddress()))
        try runClientLoop(reactor)
        #expect(peer.received == Array("ping".utf8), "the peer read the request, then our FIN")
        #expect(exchange.received == Array("pong".utf8))
        #expect(exchange.sawEndOfStream)
        #expect(exchange.failures == [nil])
    }

    @Test("a life ends once: close twice, fail after close, a throw after close; then a second life")
    func endsExactlyOnce() throws {
        let server = try InProcessServer(.multi)
        defer { server.stop() }
        let reactor = try testReactor()
        let exchange = RecordingExchange(reactor: reactor, options: ClientOptions())
        exchange.onConnected = { (connection: ClientConnection) throws(ClientFailure) in
            connection.close()
            connection.close()
            connection.fail(ClientFailure.mismatch("after the close"))
            throw ClientFailure.mismatch("thrown after the close")
        }
        var lives = 0
        exchange.onFinished = { connection in
            lives += 1
            #expect(connection.phase == .closed)
            #expect(connection.socket == nil)
            // The next life after this turn: the test's own calls after close() must reach the first life.
            if lives == 1 { reactor.schedule(after: .zero) { _ in connection.open(DialTarget(server.address)) } }
        }
        exchange.connection.open(DialTarget(server.address))
        try runClientLoop(reactor)
        #expect(exchange.connectedCount == 2)
        #expect(exchange.finishedCount == 2)
        #expect(exchange.failures == [nil, nil])
        #expect(reactor.registeredCount == 0)
    }

    @Test("a failure thrown by the exchange ends the life with it, and the socket is closed")
    func thrownFailureEndsTheLife() throws {
        let server = try InProcessServer(.multi)
        defer { server.stop() }
        let reactor = try testReactor()
        let exchange = RecordingExchange(reactor: reactor, options: ClientOptions())
        // The connected socket itself, not the process's descriptor count: tests in parallel (and the
        // in-process server's side of this connection) open and close descriptors meanwhile.
        var connected: Socket?
        exchange.onConnected = { (connection: ClientConnection) throws(ClientFailure) in
            connected = connection.socket
            throw ClientFailure.mismatch("the test's failure")
        }
        exchange.connection.open(DialTarget(server.address))
        try runClientLoop(reactor)
        #expect(exchange.failures.first??.kind == .mismatch)
        let socket = try #require(connected)
        #expect(!socket.isOpen)
        #expect(exchange.connection.socket == nil)
        #expect(reactor.registeredCount == 0)
    }

    @Test("takeSocket hands over the connected socket, open and registered nowhere")
    func handOver() throws {
        let server = try InProcessServer(.multi)
        defer { server.stop() }
        let (socket, address) = try Dialer.connect(to: DialTarget(server.address), options: ClientOptions())
        defer { socket.close() }
        #expect(address == server.address)
        #expect(socket.isOpen)
        #expect(try socket.peerAddress() == server.address)
    }
}

/// Sockets of this machine in SYN_SENT towards 127.0.0.1:`port` (/proc/net/tcp: state 02).
private func synSentCount(to port: UInt16) -> Int {
    // String(contentsOfFile:) stops after one page of a /proc file; read to the end.
    guard let handle = FileHandle(forReadingAtPath: "/proc/net/tcp") else { return -1 }
    defer { try? handle.close() }
    let table = String(decoding: (try? handle.readToEnd()) ?? Data(), as: UTF8.self)
    let remote = ":" + String(port, radix: 16, uppercase: true).leftPadded(to: 4)
    return table.split(separator: "\n").dropFirst().filter { line in
        let fields = line.split(separator: " ")
        return fields.count > 3 && fields[2].hasSuffix(remote) && fields[3] == "02"
    }.count
}

extension String {
    fileprivate func leftPadded(to width: Int) -> String { String(repeating: "0", count: max(0, width - count)) + self }
}

/// The far end of the half-close test: accepts, reads until the client's FIN, then answers "pong" and
/// closes once the test says so.
private final class HalfClosePeer: SocketHandler {
    let listener: Socket
    var connection: Socket?
    var received: [UInt8] = []
    private let buffer = ReadBuffer(size: 4096)

    init(listener: Socket) { self.listener = listener }

    func readable(in reactor: Reactor) {
        if connection == nil, let (socket, _) = try? listener.accept() {
            connection = socket
            reactor.deregister(listener)
            try? reactor.register(socket, interest: .readable, handler: self)
            return
        }
        guard let connection, case .processed(let count)? = try? connection.read(into: buffer.bytes) else { return }
        if count == 0 {
            // The client's FIN: its write side is shut, and it still reads.
            _ = try? Array("pong".utf8).withUnsafeBytes { try connection.write($0) }
            try? connection.shutdown(.write)
            reactor.setInterest(.none, for: connection)
            return
        }
        received.append(contentsOf: UnsafeRawBufferPointer(rebasing: buffer.bytes[0..<count]))
    }

    func writable(in reactor: Reactor) {}

    func finish(in reactor: Reactor) {
        guard let connection else { return }
        reactor.deregister(connection)
        connection.close()
        self.connection = nil
    }
}
