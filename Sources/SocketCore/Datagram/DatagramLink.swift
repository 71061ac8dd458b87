// DatagramLink.swift -- the UDP end of a relay (`connect --udp -m -`, `listen --udp`): each read of
// stdin goes out as one datagram, and each datagram received is one chunk for stdout. UDP has no
// connection and no end of stream, so a read never returns 0 here: an empty datagram carries no byte
// for stdout and is skipped, and the relay ends on --timeout's quiet, a signal, or an error.

/// A UDP socket as a relay's connection.
public final class DatagramLink {
    public let socket: DatagramSocket
    /// Where stdin's datagrams go; nil when the socket is connected to its peer (then only that peer's
    /// datagrams are delivered, and an ICMP port unreachable comes back as ECONNREFUSED).
    public private(set) var destination: SocketAddress?
    /// True: every datagram's sender becomes the destination (`listen --udp -k`: anyone may send).
    public let followsSender: Bool
    /// The sender of the latest datagram, or the destination before any.
    public private(set) var lastSender: SocketAddress?

    /// Takes over `socket`. - Parameter destination: nil for a connected socket.
    public init(socket: DatagramSocket, destination: SocketAddress?, followsSender: Bool = false) {
        self.socket = socket
        self.destination = destination
        self.followsSender = followsSender
        lastSender = destination
    }

    /// The next datagram's bytes, `.wouldBlock` when none is waiting; never `.processed(0)`.
    func read(into buffer: UnsafeMutableRawBufferPointer) throws(SystemError) -> IOResult<Int> {
        while true {
            guard let (length, sender) = try socket.receive(into: buffer) else { return .wouldBlock }
            lastSender = sender
            if followsSender { destination = sender }
            if length > 0 { return .processed(min(length, buffer.count)) }
        }
    }

    /// Sends all of `buffer` as one datagram, or nothing (`.wouldBlock`: the send buffer is full).
    func write(_ buffer: UnsafeRawBufferPointer) throws(SystemError) -> IOResult<Int> {
        let sent =
            if let destination { try socket.send(buffer, to: destination) } else { try socket.send(buffer) }
        return sent ? .processed(buffer.count) : .wouldBlock
    }
}

@available(*, unavailable)
extension DatagramLink: Sendable {}
