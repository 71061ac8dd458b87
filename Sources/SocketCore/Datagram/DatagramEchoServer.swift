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
    /// Datagrams received, and the bytes received and echoed, for the stats line (SIGUSR1).
    public private(set) var received = 0
    public private(set) var bytesIn = 0
    public private(set) var bytesOut = 0
    /// `MonotonicClock` nanoseconds when the socket was bound.
    private let startedAt = MonotonicClock.now()
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
        received += 1
        bytesIn += datagram.count
        log.echoing(datagram, to: sender.description)
        let sent = try socket.send(datagram, to: sender)
        if sent {
            echoed += 1
            bytesOut += datagram.count
        } else {
            dropped += 1
        }
        return true
    }

    /// What SIGUSR1 prints: the counts so far and the uptime.
    public func statsReport() -> DatagramStatsReport {
        DatagramStatsReport(
            datagramsIn: received,
            datagramsOut: echoed,
            dropped: dropped,
            bytesIn: bytesIn,
            bytesOut: bytesOut,
            uptime: MonotonicClock.now() &- startedAt
        )
    }
}

/// The datagram server's stats line: a UDP server has no connections to count, so datagrams instead.
public struct DatagramStatsReport: Sendable {
    public var datagramsIn: Int
    public var datagramsOut: Int
    /// Echoes the send buffer had no room for.
    public var dropped: Int
    public var bytesIn: Int
    public var bytesOut: Int
    /// Nanoseconds since the socket was bound.
    public var uptime: UInt64

    /// "Stats: 3 datagrams in, 3 datagrams out, 0 dropped, 12 bytes in, 12 bytes out, up 4.1 s"
    public var text: String {
        "Stats: \(NumberFormat.grouped(datagramsIn)) datagrams in, \(NumberFormat.grouped(datagramsOut)) datagrams out, "
            + "\(NumberFormat.grouped(dropped)) dropped, \(NumberFormat.grouped(bytesIn)) bytes in, "
            + "\(NumberFormat.grouped(bytesOut)) bytes out, up \(ServerStatsReport.uptimeText(nanoseconds: uptime))"
    }

    /// The JSON "stats" event's members.
    public var fields: [(String, JSONValue)] {
        [
            ("datagrams_in", .int(datagramsIn)), ("datagrams_out", .int(datagramsOut)), ("dropped", .int(dropped)),
            ("bytes_in", .int(bytesIn)), ("bytes_out", .int(bytesOut)), ("uptime_s", .double(Double(uptime) / 1e9)),
        ]
    }
}

extension EventLog {
    /// The datagram server's stats line, shown at every verbosity: someone asked for it.
    public func stats(_ report: DatagramStatsReport) {
        event("stats", level: .quiet, text: report.text, fields: report.fields)
    }
}

@available(*, unavailable)
extension DatagramEchoServer: Sendable {}
