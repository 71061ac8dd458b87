// EchoServer.swift -- `serve echo`: the guide's echo-server.py. One client at a time, on a blocking
// socket, in straight-line code; waits go through poll() so Ctrl-C and the idle timeout always work.

/// Settings for `serve echo`.
public struct BlockingEchoOptions: Sendable {
    /// Serve clients one after another instead of exiting after the first.
    public var keepServing: Bool
    /// Close a client that sends nothing for this long; nil never.
    public var idleTimeout: Duration?

    public init(keepServing: Bool = false, idleTimeout: Duration? = .seconds(300)) {
        self.keepServing = keepServing
        self.idleTimeout = idleTimeout
    }
}

/// The blocking echo server.
public final class BlockingEchoServer {
    private let listener: Socket
    /// Where it listens (with the real port).
    public let address: SocketAddress
    private let options: BlockingEchoOptions
    private let log: EventLog
    private let signals: SignalPipe?
    private let buffer = ReadBuffer(size: 64 * 1024)

    /// Binds and listens on a blocking socket.
    ///
    /// - Parameter signals: Signals that end the server (SIGINT/SIGTERM routed into the pipe); nil in tests.
    public init(
        address: SocketAddress,
        options: BlockingEchoOptions,
        log: EventLog,
        signals: SignalPipe?
    ) throws(SystemError) {
        listener = try Socket.listening(on: address, backlog: Socket.defaultBacklog, blocking: true)
        do {
            self.address = try listener.localAddress()
        } catch {
            listener.close()
            throw error
        }
        self.options = options
        self.log = log
        self.signals = signals
    }

    /// Serves until the client leaves (or, with `keepServing`, until a signal).
    ///
    /// - Returns: The signal that ended the server, if one did.
    @discardableResult
    public func run() throws(SystemError) -> CInt? {
        defer { listener.close() }
        log.event(
            "listening",
            level: .quiet,
            text: "Listening on \(address)",
            fields: [("address", .string(address.description)), ("port", .int(address.port))]
        )
        if address.isWildcard {
            log.notice(
                "listening on every interface (\(address.host)): other machines can connect to port \(address.port)"
            )
        }
        repeat {
            let outcome = try listener.wait(for: .readable, timeout: nil, signals: signals)
            if case .signalled(let signal) = outcome { return signal }
            guard let (client, peer) = try listener.acceptBlocking() else { continue }
            if let signal = try serve(client, peer: peer.description) { return signal }
        } while options.keepServing
        return nil
    }

    /// Echoes one client until it closes; returns a signal if one ended it.
    private func serve(_ client: Socket, peer: String) throws(SystemError) -> CInt? {
        defer { client.close() }
        log.event("accepted", text: "Connected by \(peer)", fields: [("peer", .string(peer))])
        while true {
            switch try client.wait(for: .readable, timeout: options.idleTimeout, signals: signals) {
            case .signalled(let signal):
                return signal
            case .timedOut:
                log.event(
                    "idle_timeout",
                    text: "Closing idle connection to \(peer)",
                    fields: [("peer", .string(peer))]
                )
                return nil
            case .ready:
                break
            }
            let count: Int
            do {
                guard case .processed(let read) = try client.read(into: buffer.bytes) else { continue }
                count = read
            } catch {
                log.event(
                    "error",
                    level: .quiet,
                    text: "Error: \(peer): \(error.call): \(error.errno)",
                    fields: [("peer", .string(peer))]
                )
                return nil
            }
            if count == 0 { break }
            let outcome: WaitOutcome
            do {
                let chunk = UnsafeRawBufferPointer(rebasing: buffer.bytes[0..<count])
                log.event(
                    "received",
                    level: .verbose,
                    text: "Echoing \(ByteNotation.format(chunk)) to \(peer)",
                    fields: [("peer", .string(peer)), ("bytes", .int(count))]
                )
                outcome = try client.writeAll(chunk, timeout: options.idleTimeout, signals: signals)
            } catch {
                log.event(
                    "error",
                    level: .quiet,
                    text: "Error: \(peer): \(error.call): \(error.errno)",
                    fields: [("peer", .string(peer))]
                )
                return nil
            }
            if case .signalled(let signal) = outcome { return signal }
            if outcome == .timedOut {
                log.event("idle_timeout", text: "Closing idle connection to \(peer)", fields: [("peer", .string(peer))])
                return nil
            }
        }
        log.event("closed", text: "Closing connection to \(peer)", fields: [("peer", .string(peer))])
        return nil
    }
}

@available(*, unavailable)
extension BlockingEchoServer: Sendable {}
