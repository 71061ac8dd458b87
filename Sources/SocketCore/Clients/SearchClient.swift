// SearchClient.swift -- `search`: the guide's app-client.py. One request, one whole and valid response,
// printed the guide's way; truncation, resets and invalid responses reported precisely. An exchange on a
// ClientConnection, like every client: every address tried, the same deadlines, one end.

/// The response to one app request.
public struct AppResponse: Sendable, Equatable {
    /// The frame as received.
    public var frame: Frame
    /// The bytes on the wire.
    public var raw: [UInt8]
}

/// `search`: one request on a `ClientConnection`, one whole and valid response, reported the guide's way.
public final class SearchClient: ClientExchange {
    private let log: EventLog
    private let requestBytes: [UInt8]
    private let contentLength: Int
    private lazy var connection: ClientConnection = ClientConnection(
        reactor: reactor,
        options: options,
        timeoutScope: .wholeExchange,
        exchange: self
    )
    private let reactor: Reactor
    private let options: ClientOptions
    private var sent = 0
    private var sentAt: UInt64 = 0
    private var decoder: FrameDecoder
    /// The response's bytes as they came, for the JSON event and the caller.
    private var raw: [UInt8] = []
    private var response: AppResponse?
    private var failure: ClientFailure?
    private let buffer = ReadBuffer(size: 64 * 1024)

    private init(reactor: Reactor, request: Frame, options: ClientOptions, maximumContentLength: Int, log: EventLog) {
        self.reactor = reactor
        self.requestBytes = request.encoded()
        self.contentLength = request.content.count
        self.options = options
        self.decoder = FrameDecoder(maximumContentLength: maximumContentLength)
        self.log = log
    }

    /// Connects (trying every address), sends `request` and reads one response, all within `options.timeout`
    /// after the handshake.
    ///
    /// - Throws: `ClientFailure` (refused, reset, timeout, truncation, invalid response).
    public static func run(
        target: DialTarget,
        request: Frame,
        options: ClientOptions,
        maximumContentLength: Int,
        log: EventLog,
        reactor: Reactor
    ) throws -> AppResponse {
        let client = SearchClient(
            reactor: reactor,
            request: request,
            options: options,
            maximumContentLength: maximumContentLength,
            log: log
        )
        client.connection.open(target)
        try reactor.run()
        if let failure = client.failure { throw failure }
        guard let response = client.response else {
            preconditionFailure("search ended without a response or a failure")
        }
        return response
    }

    public var awaiting: String { sent < requestBytes.count ? "sending the request" : "the response" }

    public func connected(_ connection: ClientConnection, in reactor: Reactor) throws(ClientFailure) {
        let peer = connection.peer
        log.event("starting", text: "Starting connection to \(peer)", fields: [("peer", .string(peer))])
        if let socket = connection.socket, let address = connection.address {
            log.connected(socket, to: address, startedAt: connection.dialStartedAt)
        }
        log.event(
            "sent",
            text: "Sending \(ByteNotation.format(requestBytes, limit: 256)) to \(peer)",
            fields: [("peer", .string(peer)), ("bytes", .int(requestBytes.count))]
        )
        log.frameLayout(
            .requestOut,
            peer: peer,
            headerLength: FrameEncoder.announcedHeaderLength(requestBytes),
            contentLength: contentLength
        )
        sentAt = MonotonicClock.now()
        try send(on: connection)
    }

    public func writable(_ connection: ClientConnection, in reactor: Reactor) throws(ClientFailure) {
        try send(on: connection)
    }

    private func send(on connection: ClientConnection) throws(ClientFailure) {
        while sent < requestBytes.count {
            let written = try connection.write(requestBytes, from: sent)
            guard written > 0 else {
                connection.setInterest([.readable, .writable])
                return
            }
            sent += written
        }
        connection.setInterest(.readable)
    }

    public func readable(_ connection: ClientConnection, in reactor: Reactor) throws(ClientFailure) {
        let peer = connection.peer
        guard let count = try connection.read(into: buffer.bytes) else { return }
        if count == 0 {
            do {
                try decoder.finish()
            } catch {
                throw ClientFailure.closedEarly(peer: peer, reason: error.description(peer: "server"))
            }
            throw ClientFailure.closedEarly(peer: peer, reason: "server closed the connection without a response")
        }
        let chunk = UnsafeRawBufferPointer(rebasing: buffer.bytes[0..<count])
        decoder.feed(chunk)
        raw.append(contentsOf: chunk)
        let frame: Frame?
        do {
            frame = try decoder.next()
        } catch {
            throw ClientFailure.protocolViolation(peer: peer, reason: error.description, frameError: error)
        }
        guard let frame else { return }
        raw.removeLast(decoder.bufferedByteCount)
        log.frameLayout(
            .responseIn,
            peer: peer,
            headerLength: decoder.lastHeaderLength,
            contentLength: frame.content.count,
            roundTrip: MonotonicClock.now() &- sentAt
        )
        let response = AppResponse(frame: frame, raw: raw)
        try Self.report(response, peer: peer, log: log)
        log.event("closed", text: "Closing connection to \(peer)", fields: [("peer", .string(peer))])
        if let socket = connection.socket { log.tcpSummary(of: socket, side: .client, peer: peer) }
        self.response = response
        connection.close()
    }

    public func finished(_ connection: ClientConnection, failure: ClientFailure?, in reactor: Reactor) {
        self.failure = failure
    }

    /// Prints the guide's lines for a response: "Received response {...}" and "Got result: ...", or
    /// "Received <type> response" and "Got response: b'...'".
    static func report(_ response: AppResponse, peer: String, log: EventLog) throws(ClientFailure) {
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
            throw ClientFailure.protocolViolation(peer: peer, reason: error.description)
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
            throw ClientFailure.protocolViolation(peer: peer, reason: #"its JSON content has no "result" member"#)
        }
    }
}

@available(*, unavailable)
extension SearchClient: Sendable {}
