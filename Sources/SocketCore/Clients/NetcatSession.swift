// NetcatSession.swift -- `connect HOST PORT -m -`: stdin to the socket, the socket to stdout, like nc.
// When stdin ends, the write side is shut (FIN) and the session lasts until the server closes, or until
// the server has sent nothing for the timeout.

/// A netcat-style relay on the reactor.
public final class NetcatSession {
    private let reactor: Reactor
    private let socket: Socket
    private let log: EventLog
    private let buffer = ReadBuffer(size: 64 * 1024)
    /// stdin bytes the socket has not taken yet; stdin is not read while any wait.
    private let toSocket = OutboundBuffer()
    private var inputEnded = false
    private var inputRegistered = false
    private var failure: (any Error)?
    public private(set) var summary = TransferSummary()
    private let started = MonotonicClock.now()
    /// After stdin ends, the server must send something (or close) within this.
    private let timeout: Duration
    private var lastFromServer: UInt64 = 0
    /// When the socket last took bytes from `toSocket`; with bytes waiting and none taken for the timeout, the
    /// server is not reading and the session ends (stdin stays paused meanwhile, so nothing else would).
    private var lastToServer: UInt64 = 0
    private var sendWatch: ReactorTimer?

    /// Takes over a connected socket.
    public init(reactor: Reactor, socket: Socket, log: EventLog, timeout: Duration) {
        self.reactor = reactor
        self.socket = socket
        self.log = log
        self.timeout = timeout
        summary.connections = 1
    }

    /// Relays until the server closes; returns the totals.
    ///
    /// - Throws: A socket error (e.g. reset), after which the session is over.
    public func run() throws -> TransferSummary {
        defer {
            if inputRegistered { reactor.deregister(descriptor: StandardStreams.input) }
            if socket.isOpen {
                reactor.deregister(socket)
                socket.close()
            }
        }
        let socketSide = SocketSide(session: self)
        let inputSide = InputSide(session: self)
        try reactor.register(socket, interest: .readable, handler: socketSide)
        try reactor.register(descriptor: StandardStreams.input, interest: .readable, handler: inputSide)
        inputRegistered = true
        try reactor.run()
        summary.nanoseconds = MonotonicClock.now() - started
        if let failure { throw failure }
        return summary
    }

    fileprivate func socketReadable() {
        do {
            guard case .processed(let count) = try socket.read(into: buffer.bytes) else { return }
            if count == 0 {
                reactor.stop()  // the server is done; whatever stdin still has goes nowhere, like nc -N
                return
            }
            try StandardStreams.writeAll(UnsafeRawBufferPointer(rebasing: buffer.bytes[0..<count]))
            summary.bytesReceived += count
            lastFromServer = reactor.now
        } catch {
            fail(error)
        }
    }

    fileprivate func socketWritable() {
        do {
            while !toSocket.isEmpty {
                guard case .processed(let written) = try socket.write(toSocket.readableBytes) else { return }
                toSocket.consume(written)
                summary.bytesSent += written
                lastToServer = reactor.now
            }
            reactor.setInterest(.readable, for: socket)
            if inputEnded {
                try socket.shutdown(.write)
            } else {
                reactor.setInterest(.readable, for: StandardStreams.input)
            }
        } catch {
            fail(error)
        }
    }

    fileprivate func inputReadable() {
        do {
            guard case .processed(let count) = try StandardStreams.read(into: buffer.bytes) else { return }
            if count == 0 {
                inputEnded = true
                reactor.deregister(descriptor: StandardStreams.input)
                inputRegistered = false
                lastFromServer = reactor.now
                watchForSilence(since: lastFromServer)
                if toSocket.isEmpty { try socket.shutdown(.write) }
                return
            }
            // The wait for the server starts when bytes start waiting, not at the last write (which may be
            // long ago if stdin was quiet).
            if toSocket.isEmpty { lastToServer = reactor.now }
            toSocket.append(UnsafeRawBufferPointer(rebasing: buffer.bytes[0..<count]))
            // Pause stdin until the socket took this chunk: memory stays bounded by one read.
            reactor.setInterest(.none, for: StandardStreams.input)
            reactor.setInterest([.readable, .writable], for: socket)
            if sendWatch == nil { watchSending(since: lastToServer) }
        } catch {
            fail(error)
        }
    }

    /// Input is over: a server that stays silent for the timeout (and never closes) ends the session,
    /// instead of leaving it waiting forever. Data from the server moves the deadline.
    private func watchForSilence(since moment: UInt64) {
        let timeout = self.timeout.nanoseconds
        reactor.schedule(atNanoseconds: moment &+ timeout) { [unowned self] reactor in
            guard self.socket.isOpen, self.failure == nil else { return }
            if reactor.now &- self.lastFromServer >= timeout {
                let peer = self.socket.remoteAddress?.description ?? "the server"
                self.fail(ClientFailure.timedOut(waitingFor: "data or end of stream", peer: peer, nanoseconds: timeout))
            } else {
                self.watchForSilence(since: self.lastFromServer)
            }
        }
    }

    /// While stdin bytes wait for the socket: a server that takes none for the timeout ends the session.
    private func watchSending(since moment: UInt64) {
        let timeout = self.timeout.nanoseconds
        sendWatch = reactor.schedule(atNanoseconds: moment &+ timeout) { [unowned self] reactor in
            self.sendWatch = nil
            guard self.socket.isOpen, self.failure == nil, !self.toSocket.isEmpty else { return }
            if reactor.now &- self.lastToServer >= timeout {
                let peer = self.socket.remoteAddress?.description ?? "the server"
                self.fail(
                    ClientFailure.timedOut(
                        waitingFor: "room to send (the server is not reading)",
                        peer: peer,
                        nanoseconds: timeout
                    )
                )
            } else {
                self.watchSending(since: self.lastToServer)
            }
        }
    }

    private func fail(_ error: any Error) {
        failure = error
        reactor.stop()
    }
}

@available(*, unavailable)
extension NetcatSession: Sendable {}

private final class SocketSide: SocketHandler {
    unowned let session: NetcatSession
    init(session: NetcatSession) { self.session = session }
    func readable(in reactor: Reactor) { session.socketReadable() }
    func writable(in reactor: Reactor) { session.socketWritable() }
}

private final class InputSide: SocketHandler {
    unowned let session: NetcatSession
    init(session: NetcatSession) { self.session = session }
    func readable(in reactor: Reactor) { session.inputReadable() }
    func writable(in reactor: Reactor) {}
}
