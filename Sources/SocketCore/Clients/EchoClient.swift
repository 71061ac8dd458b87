// EchoClient.swift -- `connect` in its simplest form: the guide's echo-client.py. Send, read the echo
// back until every byte has returned, check it, close.

/// The blocking echo client.
public enum EchoClient {
    /// Connects, sends `payload`, reads until as many bytes came back, and checks them.
    ///
    /// - Returns: What was sent and received.
    /// - Throws: `SystemError` (connect, reset), `ToolError` (timeout, early close, mismatch).
    public static func run(
        addresses: [SocketAddress],
        payload: [UInt8],
        options: ClientOptions,
        log: EventLog,
        signals: SignalPipe? = nil
    ) throws -> TransferSummary {
        let started = MonotonicClock.now()
        let (socket, address) = try Dialer.connect(to: addresses, timeout: options.connectTimeout)
        defer { socket.close() }
        let peer = address.description
        log.connected(socket, to: address, startedAt: started)
        var summary = TransferSummary()
        summary.connections = 1

        // Send and read at once: a server that stops reading until its echo is read (backpressure) would
        // otherwise leave both sides waiting once the socket buffers are full.
        var sent = 0
        var received: [UInt8] = []
        received.reserveCapacity(payload.count)
        let buffer = ReadBuffer(size: 64 * 1024)
        while received.count < payload.count {
            let interest: Interest = sent < payload.count ? [.readable, .writable] : .readable
            switch try socket.wait(for: interest, timeout: options.timeout, signals: signals) {
            case .timedOut:
                throw ToolError.timedOut(
                    what: "echo (\(received.count) of \(payload.count) bytes back)",
                    peer: peer,
                    seconds: seconds(options.timeout)
                )
            case .signalled:
                throw ToolError.closedEarly(
                    peer: peer,
                    reason: "interrupted after \(received.count) of \(payload.count) bytes came back"
                )
            case .ready:
                break
            }
            if sent < payload.count {
                let result = try payload.withUnsafeBytes { bytes in
                    try socket.write(UnsafeRawBufferPointer(rebasing: bytes[sent...]))
                }
                if case .processed(let written) = result { sent += written }
            }
            guard case .processed(let count) = try socket.read(into: buffer.bytes) else { continue }
            if count == 0 {
                throw ToolError.closedEarly(
                    peer: peer,
                    reason: "server closed the connection after \(received.count) of \(payload.count) bytes came back"
                )
            }
            received.append(contentsOf: UnsafeRawBufferPointer(rebasing: buffer.bytes[0..<count]))
        }
        summary.bytesSent = sent
        summary.bytesReceived = received.count
        summary.nanoseconds = MonotonicClock.now() - started
        log.event(
            "received",
            level: .quiet,
            text: "Received \(ByteNotation.format(received))",
            fields: [("peer", .string(peer)), ("bytes", .int(received.count))]
        )
        if let offset = firstDifference(received, payload) {
            throw ToolError.mismatch("echo from \(peer) differs from what was sent, first at byte \(offset)")
        }
        return summary
    }

    static func seconds(_ duration: Duration) -> Double { Double(duration.nanoseconds) / 1e9 }
}

/// The first index where two byte sequences differ, or nil if they are equal.
public func firstDifference(_ a: [UInt8], _ b: [UInt8]) -> Int? {
    let common = min(a.count, b.count)
    for index in 0..<common where a[index] != b[index] { return index }
    return a.count == b.count ? nil : common
}
