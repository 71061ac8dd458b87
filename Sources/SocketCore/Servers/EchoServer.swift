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
        log.listening(on: address)
        repeat {
            let outcome = try listener.wait(for: .readable, timeout: nil, signals: signals)
            if case .signalled(let signal) = outcome { return signal }
            guard let (client, peer) = try listener.acceptBlocking() else { continue }
            if let signal = try serve(client, peer: peer.description) { return signal }
        } while options.keepServing
        return nil
    }

    /// How one client's session ended.
    private enum SessionEnd {
        case closedByClient, idle, failed
        case signalled(CInt)
    }

    /// Echoes one client until it closes; returns a signal if one ended it.
    private func serve(_ client: Socket, peer: String) throws(SystemError) -> CInt? {
        defer { client.close() }
        log.event("accepted", text: "Connected by \(peer)", fields: [("peer", .string(peer))])
        switch try echo(client, peer: peer) {
        case .closedByClient: log.closing(peer)
        case .idle: log.closingIdle(peer, after: options.idleTimeout ?? .zero)
        case .failed: break
        case .signalled(let signal): return signal
        }
        return nil
    }

    /// The echo loop: wait (bounded by the idle timeout and interruptible by a signal), read, write back.
    /// The idle deadline is the reactor servers' arithmetic (`Inactivity`): it moves only with data.
    private func echo(_ client: Socket, peer: String) throws(SystemError) -> SessionEnd {
        var idle = Inactivity(timeout: options.idleTimeout, now: MonotonicClock.now())
        while true {
            switch try client.wait(for: .readable, until: idle.expiry, signals: signals) {
            case .signalled(let signal): return .signalled(signal)
            case .timedOut: return .idle
            case .ready: break
            }
            let outcome: WaitOutcome
            do {
                guard case .processed(let count) = try client.read(into: buffer.bytes) else { continue }
                if count == 0 { return .closedByClient }
                idle.progress(at: MonotonicClock.now())
                let chunk = UnsafeRawBufferPointer(rebasing: buffer.bytes[0..<count])
                if log.wants(.verbose) { log.echoing(chunk, to: peer) }
                outcome = try client.writeAll(chunk, timeout: options.idleTimeout, signals: signals)
            } catch {
                log.connectionError("\(error.call): \(error.errno)", peer: peer)
                return .failed
            }
            switch outcome {
            case .signalled(let signal): return .signalled(signal)
            case .timedOut: return .idle
            case .ready: continue
            }
        }
    }
}

@available(*, unavailable)
extension BlockingEchoServer: Sendable {}
