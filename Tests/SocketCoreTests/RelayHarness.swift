// RelayHarness.swift -- one relay in-process: its connection over a socketpair or loopback TCP, stdin
// from a pipe (fed by a thread), a regular file or /dev/null, stdout to a pipe (drained by a thread) or
// a file, and a peer thread given the far end of the connection.
import Foundation
import Glibc
import SocketCore
import Testing

/// How the relay's connection is made.
enum RelayTransport: String, CaseIterable, Sendable, CustomTestStringConvertible {
    case socketpair, tcp
    var testDescription: String { rawValue }
}

/// What the relay reads as stdin.
enum RelayInput: Sendable {
    /// A pipe that a thread fills with these bytes, then closes.
    case pipe([UInt8])
    /// A pipe the test keeps open, and never writes (stdin that never ends, or is never read).
    case openPipe([UInt8])
    /// A regular file with these bytes.
    case file([UInt8])
    /// /dev/null.
    case devNull
}

/// Where the relay writes stdout.
enum RelayOutput: Sendable {
    case pipe, file
    /// A pipe whose reader is gone: every write fails with EPIPE.
    case brokenPipe
}

/// What came out of one run.
struct RelayOutcome {
    var summary: TransferSummary?
    var error: (any Error)?
    /// What reached stdout.
    var stdout: [UInt8]
    /// The log lines (verbose).
    var log: [String]
    /// Bytes left unread in an `.openPipe` stdin.
    var leftInInput: [UInt8] = []
}

/// A temporary file with `bytes`, opened for reading; the path is unlinked at once (the descriptor keeps it).
func temporaryFile(_ bytes: [UInt8], writable: Bool = false) -> CInt {
    var template = Array("/tmp/sockettool-relay-XXXXXX".utf8CString)
    let fd = template.withUnsafeMutableBufferPointer { mkstemp($0.baseAddress!) }
    precondition(fd >= 0)
    unlink(template.withUnsafeBufferPointer { String(cString: $0.baseAddress!) })
    precondition(RawIO.writeAll(fd, bytes))
    lseek(fd, 0, SEEK_SET)
    return fd
}

/// A connected pair: the relay's side as a Socket, the peer's as a raw descriptor (blocking I/O with
/// polls, independent of SocketCore's calls).
func connectedPair(_ transport: RelayTransport) throws -> (Socket, CInt) {
    switch transport {
    case .socketpair:
        var ends: [CInt] = [-1, -1]
        let type = CInt(SOCK_STREAM.rawValue) | CInt(SOCK_NONBLOCK.rawValue) | CInt(SOCK_CLOEXEC.rawValue)
        precondition(socketpair(AF_UNIX, type, 0, &ends) == 0)
        return (Socket(adopting: ends[0], family: AF_UNIX), ends[1])
    case .tcp:
        let listener = try Socket.listening(on: SocketAddress(ipv4: "127.0.0.1", port: 0)!)
        defer { listener.close() }
        let address = try listener.localAddress()
        let peer = Glibc.socket(AF_INET, CInt(SOCK_STREAM.rawValue) | CInt(SOCK_CLOEXEC.rawValue), 0)
        let connected = try address.withSockAddr { pointer, length in Glibc.connect(peer, pointer, length) }
        precondition(connected == 0, "connect: \(errno)")
        _ = fcntl(peer, F_SETFL, O_NONBLOCK)
        #expect(try listener.wait(for: .readable, timeout: .seconds(10)) == .ready)
        let accepted = try #require(try listener.accept())
        return (accepted.socket, peer)
    }
}

/// The peer's end of the connection: a raw descriptor, closed by the peer or else by the harness.
final class PeerEnd: @unchecked Sendable {
    // @unchecked: used by the peer thread, then by the harness after joining it.
    let descriptor: CInt
    private var isClosed = false
    /// Signalled when the relay's `run` returned.
    fileprivate let relayEnded = DispatchSemaphore(value: 0)
    init(_ descriptor: CInt) { self.descriptor = descriptor }

    /// Waits (at most 30 s) until the relay has ended: a peer that must stay silent until then.
    func waitForRelayToEnd() {
        _ = relayEnded.wait(timeout: .now() + 30)
    }

    /// Closes now (with unread bytes, TCP answers the relay with a reset).
    func close() {
        guard !isClosed else { return }
        isClosed = true
        Glibc.close(descriptor)
    }
}

/// Runs one relay to its end.
///
/// - Parameters:
///   - peer: Runs on its own thread with the far end of the connection; closes it when done (or the
///     harness does, after the relay ended).
///   - onLine: Called with each log line as the relay prints it (on the relay's thread).
func runRelay(
    transport: RelayTransport,
    backend: SelectorKind,
    input: RelayInput,
    output: RelayOutput = .pipe,
    options: RelayOptions = RelayOptions(),
    hexDump: Bool = false,
    onLine: @escaping @Sendable (String) -> Void = { _ in },
    peer: @escaping @Sendable (PeerEnd) -> Void
) throws -> RelayOutcome {
    ignoreBrokenPipeSignal()
    let (socket, peerDescriptor) = try connectedPair(transport)
    let peerEnd = PeerEnd(peerDescriptor)
    let peerThread = TestThread {
        peer(peerEnd)
    }
    defer {
        #expect(peerThread.join(), "the peer thread did not end")
        peerEnd.close()
    }

    // stdin
    var inputDescriptor: CInt
    var inputWriteEnd: CInt = -1
    var writer: TestThread?
    switch input {
    case .pipe(let bytes):
        let (read, write) = RawIO.pipe()
        inputDescriptor = read
        writer = TestThread {
            RawIO.writeAll(write, bytes)
            close(write)
        }
    case .openPipe(let bytes):
        let (read, write) = RawIO.pipe()
        inputDescriptor = read
        inputWriteEnd = write
        RawIO.writeAll(write, bytes)
    case .file(let bytes): inputDescriptor = temporaryFile(bytes)
    case .devNull: inputDescriptor = open("/dev/null", O_RDONLY | O_CLOEXEC)
    }
    defer {
        writer?.join()
        close(inputDescriptor)
        if inputWriteEnd >= 0 { close(inputWriteEnd) }
    }

    // stdout
    var outputDescriptor: CInt
    let collected = Box<[UInt8]>([])
    var reader: TestThread?
    var outputReadEnd: CInt = -1
    switch output {
    case .pipe:
        let (read, write) = RawIO.pipe()
        outputDescriptor = write
        outputReadEnd = read
        reader = TestThread { collected.value = RawIO.readAll(read) }
    case .file:
        outputDescriptor = temporaryFile([])
    case .brokenPipe:
        let (read, write) = RawIO.pipe()
        close(read)
        outputDescriptor = write
    }

    let captured = CapturedLog(onLine: onLine)
    captured.log.dumpsBytes = hexDump
    let relay = Relay(
        socket: socket,
        peer: "peer",
        input: StreamDescriptor(inputDescriptor, name: "stdin"),
        output: StreamDescriptor(outputDescriptor, name: "stdout"),
        options: options,
        log: captured.log
    )
    var outcome = RelayOutcome(stdout: [], log: [])
    do {
        outcome.summary = try runRelayBounded(relay, on: try Reactor(kind: backend))
    } catch {
        outcome.error = error
    }
    peerEnd.relayEnded.signal()
    switch output {
    case .pipe:
        close(outputDescriptor)
        #expect(reader?.join() == true, "the stdout reader did not end")
        close(outputReadEnd)
        outcome.stdout = collected.value
    case .file:
        lseek(outputDescriptor, 0, SEEK_SET)
        outcome.stdout = RawIO.readAll(outputDescriptor)
        close(outputDescriptor)
    case .brokenPipe:
        close(outputDescriptor)
    }
    if case .openPipe = input {
        _ = fcntl(inputDescriptor, F_SETFL, O_NONBLOCK)
        outcome.leftInInput = RawIO.readAll(inputDescriptor, seconds: 0.01)
    }
    outcome.log = captured.text
    return outcome
}
