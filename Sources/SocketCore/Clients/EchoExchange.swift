// EchoExchange.swift -- one echo connection of `connect`: send the messages, read until every byte came
// back, check it, close. The guide's echo-client.py (one connection, one "Received" line) and each
// connection of multiconn-client.py (numbered, a line per message and per chunk).

/// How an echo connection speaks.
enum EchoVoice {
    /// echo-client.py: one connection; the echo is printed whole once it is back, then checked.
    case single
    /// multiconn-client.py: numbered connections; each message and chunk has its line, checked as it comes.
    case numbered
}

/// One connection's echo, plugged into a `ClientConnection`.
final class EchoExchange: ClientExchange {
    let id: Int
    private let voice: EchoVoice
    private unowned let client: MultiConnectionClient
    private(set) lazy var connection = ClientConnection(
        reactor: client.reactor,
        options: client.options,
        exchange: self
    )
    /// The messages, sent in order: `messages[nextMessage]` from `messageOffset` is next.
    private let messages: [[UInt8]]
    private var nextMessage = 0
    private var messageOffset = 0
    /// All messages, concatenated: what must come back.
    private let expected: [UInt8]
    /// The single voice keeps the echo to print it whole.
    private var received: [UInt8] = []
    private(set) var bytesSent = 0
    private(set) var bytesReceived = 0
    /// For the -v line at close.
    private(set) var tcpInfoAtClose: TCPInfoAtClose?

    init(id: Int, messages: [[UInt8]], voice: EchoVoice, client: MultiConnectionClient) {
        self.id = id
        self.messages = messages
        self.expected = messages.count == 1 ? messages[0] : messages.flatMap { $0 }
        self.voice = voice
        self.client = client
        if voice == .single { received.reserveCapacity(expected.count) }
    }

    private var log: EventLog { client.log }

    var awaiting: String { "echo (\(bytesReceived) of \(expected.count) bytes back)" }

    func connected(_ connection: ClientConnection, in reactor: Reactor) throws(ClientFailure) {
        if let socket = connection.socket, let address = connection.address {
            log.connected(
                socket,
                to: address,
                startedAt: connection.dialStartedAt,
                connection: voice == .numbered ? id : nil
            )
        }
        // Nothing to send means nothing to wait for.
        if expected.isEmpty {
            connection.close()
            return
        }
        // Send and read at once: a server that stops reading until its echo is read (backpressure) would
        // otherwise leave both sides waiting once the socket buffers are full.
        try send(on: connection)
    }

    func writable(_ connection: ClientConnection, in reactor: Reactor) throws(ClientFailure) {
        try send(on: connection)
    }

    /// Sends while the kernel takes bytes; asks for writability only while some are left.
    private func send(on connection: ClientConnection) throws(ClientFailure) {
        while nextMessage < messages.count {
            let message = messages[nextMessage]
            if messageOffset == 0 && voice == .numbered {
                log.event(
                    "sent",
                    text: "Sending \(ByteNotation.format(message)) to connection \(id)",
                    fields: [("connection", .int(id)), ("bytes", .int(message.count))]
                )
            }
            let written = try connection.write(message, from: messageOffset)
            guard written > 0 || message.isEmpty else {
                connection.setInterest([.readable, .writable])
                return
            }
            if log.dumpsBytes {
                message.withUnsafeBytes { bytes in
                    let chunk = UnsafeRawBufferPointer(rebasing: bytes[messageOffset..<(messageOffset + written)])
                    log.hexDump(chunk, .sent, offset: bytesSent, peer: dumpName(connection))
                }
            }
            bytesSent += written
            messageOffset += written
            if messageOffset == message.count {
                nextMessage += 1
                messageOffset = 0
            }
        }
        // Everything sent: only the echo is left to wait for (mio's reregister(READABLE)).
        connection.setInterest(.readable)
    }

    func readable(_ connection: ClientConnection, in reactor: Reactor) throws(ClientFailure) {
        let whole = client.readBuffer.bytes
        let buffer = client.receiveSize.map { UnsafeMutableRawBufferPointer(rebasing: whole[0..<$0]) } ?? whole
        guard let count = try connection.read(into: buffer) else { return }
        if count == 0 {
            let closer = "server closed the connection after \(bytesReceived) of \(expected.count) bytes came back"
            throw ClientFailure.closedEarly(peer: connection.peer, reason: closer)
        }
        let chunk = UnsafeRawBufferPointer(rebasing: buffer[0..<count])
        log.hexDump(chunk, .received, offset: bytesReceived, peer: dumpName(connection))
        switch voice {
        case .single:
            if client.receiveSize != nil { logRead(chunk, asked: buffer.count) }
            received.append(contentsOf: chunk)
            bytesReceived += count
            if bytesReceived >= expected.count { try finishSingle(on: connection) }
        case .numbered:
            try checkChunk(chunk)
            bytesReceived += count
            if bytesReceived == expected.count { connection.close() }
        }
    }

    /// "recv(5) returned 2 bytes: b'ld'": one read of `connect --recv-size`, which may bring less than asked.
    private func logRead(_ chunk: UnsafeRawBufferPointer, asked: Int) {
        log.event(
            "read",
            text:
                "recv(\(asked)) returned \(chunk.count) byte\(chunk.count == 1 ? "" : "s"): \(ByteNotation.format(chunk))",
            fields: [("asked", .int(asked)), ("bytes", .int(chunk.count))]
        )
    }

    /// Who a -x dump names: the server, or with several connections to it, which one.
    private func dumpName(_ connection: ClientConnection) -> String {
        voice == .numbered ? "connection \(id) (\(connection.peer))" : connection.peer
    }

    /// The guide's line for the whole echo, then the check.
    private func finishSingle(on connection: ClientConnection) throws(ClientFailure) {
        let peer = connection.peer
        log.event(
            "received",
            level: .quiet,
            text: "Received \(ByteNotation.format(received))",
            fields: [("peer", .string(peer)), ("bytes", .int(received.count))]
        )
        if let offset = firstDifference(received, expected) {
            throw ClientFailure.mismatch("echo from \(peer) differs from what was sent, first at byte \(offset)")
        }
        connection.close()
    }

    /// A numbered connection's chunk: its line, then the check against what was sent.
    private func checkChunk(_ chunk: UnsafeRawBufferPointer) throws(ClientFailure) {
        let count = chunk.count
        log.event(
            "received",
            text: "Received \(ByteNotation.format(chunk)) from connection \(id)",
            fields: [("connection", .int(id)), ("bytes", .int(count))]
        )
        guard bytesReceived + count <= expected.count else {
            throw ClientFailure.mismatch(
                "received \(bytesReceived + count) bytes, more than the \(expected.count) sent"
            )
        }
        let matches = expected.withUnsafeBytes {
            bytesEqual(chunk.baseAddress!, $0.baseAddress! + bytesReceived, count: count)
        }
        if !matches {
            let offset = (0..<count).first { chunk[$0] != expected[bytesReceived + $0] } ?? 0
            throw ClientFailure.mismatch("echo differs from what was sent, first at byte \(bytesReceived + offset)")
        }
    }

    func finished(_ connection: ClientConnection, failure: ClientFailure?, in reactor: Reactor) {
        tcpInfoAtClose = connection.tcpInfoAtClose
        client.finished(self, failure: failure)
    }
}

/// The first index where two byte sequences differ, or nil if they are equal.
public func firstDifference(_ a: [UInt8], _ b: [UInt8]) -> Int? {
    let common = min(a.count, b.count)
    for index in 0..<common where a[index] != b[index] { return index }
    return a.count == b.count ? nil : common
}
