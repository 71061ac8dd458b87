// EchoConnection.swift -- one client of `serve multi`: echo everything back, handle partial writes, and
// stop reading a client that does not read its echo (backpressure instead of unbounded memory).

/// Settings for `serve multi`.
public struct EchoOptions: Sendable {
    /// Most unsent echo held per connection: a read takes at most this much, and the server reads no more
    /// from a client until its echo has been sent.
    public var maxPendingBytes: Int
    /// A connection with no traffic for this long is closed; nil never.
    public var idleTimeout: Duration?

    public init(maxPendingBytes: Int = 1 << 20, idleTimeout: Duration? = .seconds(300)) {
        self.maxPendingBytes = maxPendingBytes
        self.idleTimeout = idleTimeout
    }
}

/// Echoes one connection's bytes back to it.
final class EchoConnection: ServedConnection, DeadlineOwner {
    private let socket: Socket
    let descriptor: CInt
    private let peerAddress: SocketAddress
    /// `host:port`, made the first time a line shows it: a quiet server never formats it.
    private lazy var peer = peerAddress.description
    private unowned let server: ConnectionServer
    private let readBuffer: ReadBuffer
    private let options: EchoOptions
    /// Bytes read and not yet echoed.
    private let pending = OutboundBuffer()
    /// The client half-closed: finish echoing, then close.
    private var peerFinished = false
    /// Shutdown began: read nothing more.
    private var finishing = false
    /// For the -v line at close: when it was accepted, bytes echoed, reads that brought them.
    private var acceptedAt: UInt64 = 0
    private var bytesEchoed = 0
    private var reads = 0
    /// --idle-timeout: moved by every read and write.
    private lazy var idle = ReactorDeadline(reactor: server.reactor, owner: self)
    /// Reads per readable event, so one fast client cannot starve the others.
    private static let readsPerTurn = 4

    init(socket: Socket, peer: SocketAddress, server: ConnectionServer, readBuffer: ReadBuffer, options: EchoOptions) {
        self.socket = socket
        self.descriptor = socket.descriptor
        self.peerAddress = peer
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
        // A read never takes more than --max-pending bytes, so what waits to be echoed stays within it.
        let space = UnsafeMutableRawBufferPointer(
            rebasing: readBuffer.bytes[0..<min(readBuffer.bytes.count, options.maxPendingBytes)]
        )
        for _ in 0..<Self.readsPerTurn {
            let result: IOResult<Int>
            do {
                result = try socket.read(into: space)
            } catch {
                fail(error, in: reactor)
                return
            }
            guard case .processed(let count) = result else { break }
            if count == 0 {
                peerFinished = true
                if pending.isEmpty { closeNow(in: reactor) } else { updateInterest(in: reactor) }
                return
            }
            idle.progress()
            server.stats.received(count)
            bytesEchoed += count
            reads += 1
            let chunk = UnsafeRawBufferPointer(rebasing: readBuffer.bytes[0..<count])
            server.log.echoing(chunk, to: peer)
            guard echo(chunk, in: reactor) else { return }
            // Echo still unsent: read no more until it is (as refserver does). The client's bytes then wait in
            // the kernel, where TCP's own flow control holds the client back, instead of being copied here.
            if !pending.isEmpty || count < space.count { break }
        }
        updateInterest(in: reactor)
    }

    func writable(in reactor: Reactor) {
        do {
            while !pending.isEmpty {
                guard case .processed(let written) = try socket.write(pending.readableBytes) else { break }
                server.stats.sent(written)
                pending.consume(written)
                idle.progress()
            }
        } catch {
            fail(error, in: reactor)
            return
        }
        if pending.isEmpty && (peerFinished || finishing) {
            closeNow(in: reactor)
            return
        }
        updateInterest(in: reactor)
    }

    /// Writes `chunk` now if nothing is queued, and queues what the kernel did not take.
    /// - Returns: false if the connection failed and is closed.
    private func echo(_ chunk: UnsafeRawBufferPointer, in reactor: Reactor) -> Bool {
        var rest = chunk
        if pending.isEmpty {
            do {
                if case .processed(let written) = try socket.write(chunk) {
                    server.stats.sent(written)
                    rest = UnsafeRawBufferPointer(rebasing: chunk[written...])
                }
            } catch {
                fail(error, in: reactor)
                return false
            }
        }
        pending.append(rest)
        return true
    }

    /// Read while there is room for the echo; write while there is echo pending.
    private func updateInterest(in reactor: Reactor) {
        var interest: Interest = []
        if !peerFinished && !finishing && pending.isEmpty { interest.insert(.readable) }
        if !pending.isEmpty { interest.insert(.writable) }
        reactor.setInterest(interest, for: descriptor)
    }

    func deadlinePassed(in reactor: Reactor) {}

    func finishForShutdown(in reactor: Reactor) {
        finishing = true
        if pending.isEmpty { closeNow(in: reactor) } else { updateInterest(in: reactor) }
    }

    private func fail(_ error: SystemError, in reactor: Reactor) {
        // A reset or broken pipe ends this client only; the guide's server dies here.
        server.stats.count(.io)
        server.log.connectionError("\(error.call): \(error.errno)", peer: peer)
        closeNow(in: reactor)
    }

    func closeNow(in reactor: Reactor) {
        guard socket.isOpen else { return }
        idle.cancel()
        server.log.echoTotals(bytes: bytesEchoed, reads: reads, nanoseconds: reactor.now &- acceptedAt, peer: peer)
        server.log.closing(peer)
        server.log.tcpSummary(of: socket, side: .server, peer: peer)
        reactor.deregister(socket)
        socket.close()
        pending.removeAll()
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
