// DatagramEchoClient.swift -- `connect --udp`: each message one datagram (one sendto), then the echoes
// until all are back or the deadline passes. UDP promises neither delivery nor order, so the client
// says what happened: each echo is matched to the earliest message with its bytes still waiting; one that
// arrives before an earlier message's echo is counted reordered, and those never back are lost.

/// What a UDP echo exchange found.
public struct DatagramReport: Sendable, Equatable {
    public var sent = 0
    public var echoed = 0
    /// Echoes that came back before the echo of a message sent earlier.
    public var reordered = 0
    /// Datagrams whose echo never came (or the send buffer had no room for).
    public var lost = 0
    /// Echoes that match no message still waiting (a duplicate, or someone else's bytes).
    public var unexpected = 0
    public var bytesSent = 0
    public var bytesReceived = 0
    public var nanoseconds: UInt64 = 0

    /// "2 datagrams sent, 2 echoed, 0 lost, 0 reordered in 1.20 ms".
    public var text: String {
        "\(sent) datagram\(sent == 1 ? "" : "s") sent, \(echoed) echoed, \(lost) lost, \(reordered) reordered"
            + (unexpected > 0 ? ", \(unexpected) unexpected" : "")
            + " in \(NumberFormat.duration(nanoseconds: nanoseconds))"
    }

    public var fields: [(String, JSONValue)] {
        [
            ("sent", .int(sent)), ("echoed", .int(echoed)), ("lost", .int(lost)), ("reordered", .int(reordered)),
            ("unexpected", .int(unexpected)), ("bytes_sent", .int(bytesSent)),
            ("bytes_received", .int(bytesReceived)), ("seconds", .double(Double(nanoseconds) / 1e9)),
        ]
    }
}

/// Sends datagrams to one peer and waits for their echoes.
public final class DatagramEchoClient: SocketHandler {
    private let socket: DatagramSocket
    private let peer: SocketAddress
    private let messages: [[UInt8]]
    private let log: EventLog
    /// Per message: true once its echo is back.
    private var back: [Bool]
    private var report = DatagramReport()
    private var failure: ClientFailure?
    /// One datagram's room, for the object's life.
    private let buffer = UnsafeMutableRawBufferPointer.allocate(
        byteCount: DatagramSocket.maximumPayload,
        alignment: 16
    )
    private let started = MonotonicClock.now()

    /// A socket connected to `peer` (no packet yet: UDP has no handshake), bound to `source` first if given.
    public init(
        peer: SocketAddress,
        source: SocketAddress? = nil,
        messages: [[UInt8]],
        log: EventLog
    ) throws(SystemError) {
        socket = try DatagramSocket(family: peer.family)
        do {
            if let source { try socket.bind(to: source) }
            try socket.connect(to: peer)
        } catch {
            socket.close()
            throw error
        }
        self.peer = peer
        self.messages = messages
        self.log = log
        back = Array(repeating: false, count: messages.count)
    }

    /// Sends every message and waits for the echoes, at most `timeout` (nil: until all are back).
    ///
    /// - Throws: `ClientFailure`: refused (an ICMP port unreachable: nothing listens), or timed out with
    ///   the datagrams still missing.
    public func run(on reactor: Reactor, timeout: Duration?) throws -> DatagramReport {
        defer {
            reactor.deregister(descriptor: socket.descriptor)
            socket.close()
        }
        try reactor.register(descriptor: socket.descriptor, interest: .readable, handler: self)
        for (index, message) in messages.enumerated() {
            let sent = try message.withUnsafeBytes { raw throws(SystemError) in try socket.send(raw, to: peer) }
            report.sent += 1
            if sent {
                report.bytesSent += message.count
            } else {
                back[index] = true
                report.lost += 1
            }
        }
        let timer = timeout.map { reactor.schedule(after: $0) { $0.stop() } }
        if !back.allSatisfy({ $0 }) { try reactor.run() }
        if let timer { reactor.cancel(timer) }
        report.lost += back.filter { !$0 }.count
        report.nanoseconds = MonotonicClock.now() &- started
        if let failure { throw failure }
        if report.lost > 0 {
            throw ClientFailure.timedOut(
                waitingFor: "echo of \(report.lost) of \(report.sent) datagrams (lost: UDP does not resend)",
                peer: peer.description,
                nanoseconds: timeout?.nanoseconds ?? 0
            )
        }
        return report
    }

    deinit { buffer.deallocate() }

    public func readable(in reactor: Reactor) {
        while true {
            let received: (length: Int, sender: SocketAddress)?
            do {
                received = try socket.receive(into: buffer)
            } catch {
                failure = ClientFailure(error)
                reactor.stop()
                return
            }
            guard let (length, _) = received else { break }
            matchEcho(Array(buffer[0..<min(length, buffer.count)]))
            if back.allSatisfy({ $0 }) {
                reactor.stop()
                break
            }
        }
        log.flush()
    }

    public func writable(in reactor: Reactor) {}

    private func matchEcho(_ datagram: [UInt8]) {
        report.bytesReceived += datagram.count
        guard let index = messages.indices.first(where: { !back[$0] && messages[$0] == datagram }) else {
            report.unexpected += 1
            log.warning(
                "\(peer): a datagram that matches no message still waiting: \(ByteNotation.format(datagram))",
                fields: [("kind", .string("unexpected")), ("bytes", .int(datagram.count))]
            )
            return
        }
        let overtook = back[..<index].contains(false)
        back[index] = true
        report.echoed += 1
        if overtook { report.reordered += 1 }
        log.event(
            "received",
            text: "Received \(ByteNotation.format(datagram)) (datagram \(index + 1) of \(messages.count)"
                + (overtook ? ", reordered)" : ")"),
            fields: [
                ("datagram", .int(index + 1)), ("bytes", .int(datagram.count)), ("reordered", .bool(overtook)),
                ("peer", .string(peer.description)),
            ]
        )
    }
}

@available(*, unavailable)
extension DatagramEchoClient: Sendable {}
