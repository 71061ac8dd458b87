// ClientTestSupport.swift -- what the in-process client tests share: a server of ours on its own thread and
// reactor, a loopback port nothing listens on, a "black hole" that never answers a SYN, a recording
// exchange, and a bounded run of a reactor.
import Glibc
import SocketCore
import Synchronization
import Testing

/// A `serve multi` or `serve app` of SocketCore on a thread of its own, on 127.0.0.1 (or `address`), port 0.
final class InProcessServer: Sendable {
    enum Kind: Sendable { case multi, app }

    let address: SocketAddress
    private let thread: WorkerThread
    private let stopper: RemoteStop
    private let lines = PrintedLines()

    init(
        _ kind: Kind,
        on address: SocketAddress = SocketAddress(ipv4: "127.0.0.1", port: 0)!,
        app: AppOptions = AppOptions()
    ) throws {
        let ready = try WakePipe()
        let shared = Mutex<(SocketAddress, RemoteStop)?>(nil)
        let failure = Mutex<String?>(nil)
        let lines = self.lines
        thread = try WorkerThread {
            do {
                let reactor = try testReactor()
                let log = EventLog(
                    output: OutputBuffer { line in lines.append(line) },
                    diagnostics: OutputBuffer { line in lines.append(line) }
                )
                let options = ServerOptions(address: address, maxConnections: 256)
                let server =
                    switch kind {
                    case .multi:
                        try ConnectionServer.multi(reactor: reactor, options: options, echo: EchoOptions(), log: log)
                    case .app: try ConnectionServer.app(reactor: reactor, options: options, app: app, log: log)
                    }
                let remote = try reactor.makeRemoteStop()
                try server.start()
                shared.withLock { $0 = (server.address, remote) }
                ready.wake()
                try reactor.run()
                server.closeAll()
            } catch {
                failure.withLock { $0 = "\(error)" }
                ready.wake()
            }
        }
        _ = try Wait.until(Wait.deadline(after: .seconds(20)), ready.readDescriptor, .readable)
        guard let (bound, remote) = shared.withLock({ $0 }) else {
            thread.join()
            throw ServerStartFailure(reason: failure.withLock { $0 } ?? "the server did not start in 20 s")
        }
        self.address = bound
        self.stopper = remote
    }

    /// The lines the server printed so far.
    var printed: [String] { lines.all }

    func stop() {
        stopper.stop()
        thread.join()
    }
}

/// Lines printed on one thread, read on another.
final class PrintedLines: Sendable {
    private let lines = Mutex<[String]>([])
    func append(_ line: String) { lines.withLock { $0.append(line) } }
    var all: [String] { lines.withLock { $0 } }
}

struct ServerStartFailure: Error, CustomStringConvertible {
    let reason: String
    var description: String { "server did not start: \(reason)" }
}

/// A loopback port that refuses connections: bound, never listening, held until `close()`.
final class RefusingPort {
    let address: SocketAddress
    private let socket: Socket

    init(_ host: SocketAddress = SocketAddress(ipv4: "127.0.0.1", port: 0)!) throws {
        socket = try Socket(family: host.family)
        try socket.bind(to: host)
        address = try socket.localAddress()
    }

    func close() { socket.close() }
}

/// A loopback listener whose accept queue is full, so the kernel drops every new SYN: a connect to it stays
/// in progress, like one to a host that never answers (without sending a packet off this machine).
final class BlackHole {
    let address: SocketAddress
    private let listener: Socket
    private var fillers: [Socket] = []

    init(_ host: SocketAddress = SocketAddress(ipv4: "127.0.0.1", port: 0)!) throws {
        listener = try Socket.listening(on: host, backlog: 0)
        address = try listener.localAddress()
        // Connect until one stays in progress: the queue is full and SYNs are dropped from then on.
        for _ in 0..<16 {
            let (socket, result) = try Socket.connecting(to: address)
            fillers.append(socket)
            if result == .inProgress,
                try !Wait.until(Wait.deadline(after: .milliseconds(200)), socket.descriptor, .writable)
            {
                return
            }
        }
        close()
        throw ServerStartFailure(reason: "the accept queue of a backlog-0 listener never filled")
    }

    func close() {
        for socket in fillers { socket.close() }
        fillers.removeAll()
        listener.close()
    }
}

/// An exchange that records what happened and does what a test tells it.
final class RecordingExchange: ClientExchange {
    lazy var connection = ClientConnection(reactor: reactor, options: options, timeoutScope: scope, exchange: self)
    let reactor: Reactor
    let options: ClientOptions
    let scope: ClientConnection.TimeoutScope
    var connectedCount = 0
    var finishedCount = 0
    var failures: [ClientFailure?] = []
    var received: [UInt8] = []
    var sawEndOfStream = false
    /// Run on connect (send, half-close, ...).
    var onConnected: (ClientConnection) throws(ClientFailure) -> Void = { _ in }
    /// Run at the end of stream; by default the connection closes cleanly.
    var onEndOfStream: (ClientConnection) throws(ClientFailure) -> Void = { $0.close() }
    /// Run when the life ended.
    var onFinished: (ClientConnection) -> Void = { _ in }
    private let buffer = ReadBuffer(size: 4096)

    init(reactor: Reactor, options: ClientOptions, scope: ClientConnection.TimeoutScope = .sinceProgress) {
        self.reactor = reactor
        self.options = options
        self.scope = scope
    }

    var awaiting: String { "the test's bytes" }

    func connected(_ connection: ClientConnection, in reactor: Reactor) throws(ClientFailure) {
        connectedCount += 1
        connection.setInterest(.readable)
        try onConnected(connection)
    }

    func readable(_ connection: ClientConnection, in reactor: Reactor) throws(ClientFailure) {
        guard let count = try connection.read(into: buffer.bytes) else { return }
        if count == 0 {
            sawEndOfStream = true
            try onEndOfStream(connection)
            return
        }
        received.append(contentsOf: UnsafeRawBufferPointer(rebasing: buffer.bytes[0..<count]))
    }

    func writable(_ connection: ClientConnection, in reactor: Reactor) throws(ClientFailure) {}

    func finished(_ connection: ClientConnection, failure: ClientFailure?, in reactor: Reactor) {
        finishedCount += 1
        failures.append(failure)
        onFinished(connection)
    }
}

/// Runs the loop until it ends by itself; a run that outlasts `limit` is stopped and fails the test.
func runClientLoop(_ reactor: Reactor, limit: Duration = .seconds(20)) throws {
    var timedOut = false
    let guardTimer = reactor.schedule(after: limit) { reactor in
        timedOut = true
        reactor.stop()
    }
    reactor.addBeforeSleepHook { [unowned reactor] in if reactor.registeredCount == 0 { reactor.cancel(guardTimer) } }
    try reactor.run()
    #expect(!timedOut, "the loop did not end within \(limit)")
}

/// ::1, if this machine has it on lo.
let loopbackIPv6 = SocketAddress(ipv6: "::1", port: 0)!

/// True when a socket can bind ::1 here.
let hasIPv6Loopback: Bool = {
    guard let socket = try? Socket(family: AF_INET6) else { return false }
    defer { socket.close() }
    return (try? socket.bind(to: loopbackIPv6)) != nil
}()

/// A reactor on the backend this pass of `make test` runs (SOCKETTOOL_BACKEND; poll when unset).
func testReactor() throws -> Reactor {
    let name = Environment.value("SOCKETTOOL_BACKEND") ?? ""
    return try Reactor(kind: SelectorKind(rawValue: name) ?? .poll)
}
