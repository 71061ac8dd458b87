// DiscardConnection.swift -- one client of `serve discard` (RFC 863): read everything, keep nothing, count
// it. The receiving end of a one-way throughput run; its counters are the receiver's side of the summary.
// On TCP the bytes are dropped in the kernel (MSG_TRUNC) unless --copy asks for them to be read out.

/// Settings for `serve discard`.
public struct DiscardOptions: Sendable {
    /// A connection with no traffic for this long is closed; nil never.
    public var idleTimeout: Duration?
    /// Copy every byte into the server's buffer (a program's recv(), iperf3 -s) instead of dropping it
    /// in the kernel (`Socket.discard`): a receiver that costs what an application's does.
    public var copy: Bool

    public init(idleTimeout: Duration? = .seconds(300), copy: Bool = false) {
        self.idleTimeout = idleTimeout
        self.copy = copy
    }

    /// The one read buffer of a discard loop: large reads mean few system calls per gigabyte.
    static let readSize = 256 * 1024
}

/// What one discard connection received, reported when it closes.
public struct DiscardTotals: Sendable, Equatable {
    /// Bytes read and dropped.
    public var bytes = 0
    /// read(2) calls that returned data.
    public var reads = 0
    /// From accept to close.
    public var nanoseconds: UInt64 = 0

    public init() {}
}

/// Reads one connection until it ends and throws the bytes away.
final class DiscardConnection: ServedConnection, DeadlineOwner {
    private let socket: Socket
    let descriptor: CInt
    /// `host:port`, computed once.
    private let peer: String
    private unowned let server: ConnectionServer
    /// The loop's one buffer: every read lands here and is forgotten.
    private let readBuffer: ReadBuffer
    private let options: DiscardOptions
    private var totals = DiscardTotals()
    private var acceptedAt: UInt64 = 0
    /// --idle-timeout: moved by every read.
    private lazy var idle = ReactorDeadline(reactor: server.reactor, owner: self)
    /// Reads per readable event, so one fast sender cannot starve the other connections of the loop.
    private static let readsPerTurn = 8

    init(
        socket: Socket,
        peer: SocketAddress,
        server: ConnectionServer,
        readBuffer: ReadBuffer,
        options: DiscardOptions
    ) {
        self.socket = socket
        self.descriptor = socket.descriptor
        self.peer = peer.description
        self.server = server
        self.readBuffer = readBuffer
        self.options = options
    }

    func start(in reactor: Reactor) {
        server.log.accepted(peer)
        do {
            try reactor.register(socket, interest: .readable, handler: self)
        } catch {
            server.log.connectionError("\(error)", peer: peer)
            closeNow(in: reactor)
            return
        }
        acceptedAt = reactor.now
        idle.arm(after: options.idleTimeout)
    }

    func readable(in reactor: Reactor) {
        let space = readBuffer.bytes
        for _ in 0..<Self.readsPerTurn {
            let result: IOResult<Int>
            do {
                result = try options.copy ? socket.read(into: space) : socket.discard(upTo: space)
            } catch {
                // A reset ends this sender only; what it sent until then is counted.
                server.stats.count(.io)
                server.log.connectionError("\(error.call): \(error.errno)", peer: peer)
                closeNow(in: reactor)
                return
            }
            guard case .processed(let count) = result else { return }
            if count == 0 {
                closeNow(in: reactor)
                return
            }
            server.stats.received(count)
            totals.bytes += count
            totals.reads += 1
            idle.progress()
            // Less than the buffer: the kernel's queue is empty, so another read would only say EAGAIN.
            if count < space.count { return }
        }
    }

    func writable(in reactor: Reactor) {}

    func deadlinePassed(in reactor: Reactor) {}

    /// Nothing is in flight on a discard connection: shutdown closes it at once.
    func finishForShutdown(in reactor: Reactor) {
        closeNow(in: reactor)
    }

    func closeNow(in reactor: Reactor) {
        guard socket.isOpen else { return }
        idle.cancel()
        totals.nanoseconds = reactor.now &- acceptedAt
        server.log.discardTotals(totals, peer: peer)
        server.log.closing(peer)
        server.log.tcpSummary(of: socket, side: .server, peer: peer)
        reactor.deregister(socket)
        socket.close()
        server.connectionClosed(self, descriptor: descriptor)
    }

    // MARK: - Idle timeout

    func deadlinePassed(_ deadline: ReactorDeadline, in reactor: Reactor) {
        guard socket.isOpen, let timeout = options.idleTimeout else { return }
        server.stats.count(.idle)
        server.log.closingIdle(peer, after: timeout)
        closeNow(in: reactor)
    }
}
