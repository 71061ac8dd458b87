// DatagramEchoServer.swift -- `serve echo --udp`: the guide's SOCK_DGRAM contrast. No connection and no
// accept: each datagram is one recvfrom, and its echo one sendto back to whoever sent it, so message
// boundaries are kept. A datagram the send buffer has no room for is dropped and counted, as UDP may.

/// A UDP echo server on a reactor.
public final class DatagramEchoServer: SocketHandler {
    private let socket: DatagramSocket
    private let log: EventLog
    /// The bound address (the real port with port 0).
    public let address: SocketAddress
    /// Datagrams echoed, and those dropped because the send buffer was full.
    public private(set) var echoed = 0
    public private(set) var dropped = 0
    /// One datagram's room, for the object's life.
    private let buffer = UnsafeMutableRawBufferPointer.allocate(
        byteCount: DatagramSocket.maximumPayload,
        alignment: 16
    )

    /// Datagrams handled per readiness event, so a flood cannot keep the loop from its signals.
    static let datagramsPerTurn = 64

    /// Binds `address`. - Throws: `SystemError` (address in use, ...).
    public init(address: SocketAddress, log: EventLog) throws(SystemError) {
        socket = try DatagramSocket.bound(to: address)
        do {
            self.address = try socket.localAddress()
        } catch {
            socket.close()
            throw error
        }
        self.log = log
    }

    /// Prints the listening line and starts serving on `reactor`.
    public func start(on reactor: Reactor) throws(SystemError) {
        log.listening(on: address)
        try reactor.register(descriptor: socket.descriptor, interest: .readable, handler: self)
    }

    /// Deregisters and closes the socket.
    public func stop(on reactor: Reactor) {
        guard socket.descriptor >= 0 else { return }
        reactor.deregister(descriptor: socket.descriptor)
        socket.close()
    }

    deinit { buffer.deallocate() }

    public func readable(in reactor: Reactor) {
        for _ in 0..<Self.datagramsPerTurn {
            do {
                guard try !echoOne() else { continue }
            } catch {
                // ICMP port unreachable from an earlier echo's peer (ECONNREFUSED) and the like: that peer's
                // problem, never the server's.
                log.warning("\(error)", fields: [("kind", .string("datagram"))])
                continue
            }
            break
        }
        log.flush()
    }

    public func writable(in reactor: Reactor) {}

    /// Receives one datagram and echoes it. - Returns: False when none was waiting.
    private func echoOne() throws(SystemError) -> Bool {
        guard let (length, sender) = try socket.receive(into: buffer) else { return false }
        let datagram = UnsafeRawBufferPointer(rebasing: buffer[0..<min(length, buffer.count)])
        log.echoing(datagram, to: sender.description)
        let sent = try socket.send(datagram, to: sender)
        if sent { echoed += 1 } else { dropped += 1 }
        return true
    }
}

@available(*, unavailable)
extension DatagramEchoServer: Sendable {}
