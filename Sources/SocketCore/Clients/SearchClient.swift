// SearchClient.swift -- `search`: the guide's app-client.py. One request, one whole and valid response,
// printed the guide's way; truncation, resets and invalid responses reported precisely.

/// The response to one app request.
public struct AppResponse: Sendable, Equatable {
    /// The frame as received.
    public var frame: Frame
    /// The bytes on the wire.
    public var raw: [UInt8]
}

/// The blocking app-protocol client.
public enum SearchClient {
    /// Sends `request` and reads one response, all within `options.timeout` after connecting.
    ///
    /// - Throws: `SystemError` (refused, reset), `ToolError` (timeout, truncation, invalid response).
    public static func run(
        addresses: [SocketAddress],
        request: Frame,
        options: ClientOptions,
        maximumContentLength: Int,
        log: EventLog,
        signals: SignalPipe? = nil
    ) throws -> AppResponse {
        let started = MonotonicClock.now()
        let (socket, address) = try Dialer.connect(to: addresses, timeout: options.connectTimeout)
        defer { socket.close() }
        let peer = address.description
        log.event("starting", text: "Starting connection to \(peer)", fields: [("peer", .string(peer))])
        log.connected(socket, to: address, startedAt: started)
        let deadline = MonotonicClock.now() &+ options.timeout.nanoseconds
        let requestBytes = request.encoded()
        log.event(
            "sent",
            text: "Sending \(ByteNotation.format(requestBytes, limit: 256)) to \(peer)",
            fields: [("peer", .string(peer)), ("bytes", .int(requestBytes.count))]
        )
        log.frameLayout(
            .requestOut,
            peer: peer,
            headerLength: FrameEncoder.announcedHeaderLength(requestBytes),
            contentLength: request.content.count
        )
        let sentAt = MonotonicClock.now()
        let sent = try requestBytes.withUnsafeBytes { bytes in
            try socket.writeAll(bytes, timeout: remaining(until: deadline), signals: signals)
        }
        guard sent == .ready else {
            throw interruption(sent, what: "sending the request", peer: peer, options: options)
        }

        var decoder = FrameDecoder(maximumContentLength: maximumContentLength)
        var raw: [UInt8] = []
        let buffer = ReadBuffer(size: 64 * 1024)
        while true {
            let outcome = try socket.wait(for: .readable, timeout: remaining(until: deadline), signals: signals)
            guard outcome == .ready else {
                throw interruption(outcome, what: "the response", peer: peer, options: options)
            }
            guard case .processed(let count) = try socket.read(into: buffer.bytes) else { continue }
            if count == 0 {
                do {
                    try decoder.finish()
                } catch {
                    throw ToolError.closedEarly(peer: peer, reason: error.description(peer: "server"))
                }
                throw ToolError.closedEarly(peer: peer, reason: "server closed the connection without a response")
            }
            let chunk = UnsafeRawBufferPointer(rebasing: buffer.bytes[0..<count])
            decoder.feed(chunk)
            raw.append(contentsOf: chunk)
            let frame: Frame?
            do {
                frame = try decoder.next()
            } catch {
                throw ToolError.protocolViolation(peer: peer, reason: error.description)
            }
            guard let frame else { continue }
            raw.removeLast(decoder.bufferedByteCount)
            log.frameLayout(
                .responseIn,
                peer: peer,
                headerLength: decoder.lastHeaderLength,
                contentLength: frame.content.count,
                roundTrip: MonotonicClock.now() &- sentAt
            )
            let response = AppResponse(frame: frame, raw: raw)
            try report(response, peer: peer, log: log)
            log.event("closed", text: "Closing connection to \(peer)", fields: [("peer", .string(peer))])
            return response
        }
    }

    /// Prints the guide's lines for a response: "Received response {...}" and "Got result: ...", or
    /// "Received <type> response" and "Got response: b'...'".
    static func report(_ response: AppResponse, peer: String, log: EventLog) throws {
        let header = response.frame.header
        guard header.isJSON else {
            log.event(
                "received",
                text: "Received \(ByteNotation.escapeForLog(header.contentType)) response from \(peer)",
                fields: [("peer", .string(peer)), ("content_type", .string(header.contentType))]
            )
            log.event(
                "result",
                level: .quiet,
                text: "Got response: \(ByteNotation.format(response.frame.content, limit: 4096))",
                fields: [
                    ("content_type", .string(header.contentType)),
                    ("content_length", .int(response.frame.content.count)),
                    ("content_base64", .string(Base64.encode(response.frame.content))),
                ]
            )
            return
        }
        let document: JSONValue
        do {
            guard case .json(let parsed) = try AppProtocol.request(from: response.frame) else { return }
            document = parsed
        } catch {
            throw ToolError.protocolViolation(peer: peer, reason: error.description)
        }
        log.event(
            "received",
            text: "Received response \(ByteNotation.escapeForLog(PythonRepr.repr(document), limit: 4096)) from \(peer)",
            fields: [("peer", .string(peer)), ("response", document)]
        )
        let member = document["result"]
        let result = member ?? .null
        // The guide prints the result raw; a server must not be able to drive the terminal or fake a line.
        log.event(
            "result",
            level: .quiet,
            text: "Got result: \(ByteNotation.escapeForLog(PythonRepr.str(result), limit: 4096))",
            fields: [("result", result)]
        )
        // The guide's client prints "Got result: None" and carries on; a tool must not exit 0 on it. Every
        // answer of the guide's server, errors included, has a "result" (an echo server sends the request).
        guard member != nil else {
            throw ToolError.protocolViolation(peer: peer, reason: #"its JSON content has no "result" member"#)
        }
    }

    private static func remaining(until deadline: UInt64) -> Duration {
        let now = MonotonicClock.now()
        return .nanoseconds(Int64(deadline > now ? deadline - now : 0))
    }

    private static func interruption(
        _ outcome: WaitOutcome,
        what: String,
        peer: String,
        options: ClientOptions
    ) -> ToolError {
        if case .signalled = outcome {
            return .closedEarly(peer: peer, reason: "interrupted while waiting for \(what)")
        }
        return .timedOut(what: what, peer: peer, seconds: Double(options.timeout.nanoseconds) / 1e9)
    }
}
