// LoopbackClient.swift -- the test side of real loopback sockets: a client and a listener whose every wait
// has a deadline, so a test can play a well-behaved peer, a hostile one, or a broken server.
import Foundation
import Glibc
import SocketCore
import Testing

/// A test expectation about a peer or process that did not hold.
struct LoopbackFailure: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}

/// How reading to the end of a stream finished.
enum StreamEnd: String, Sendable, Equatable {
    /// A FIN: read() returned 0.
    case eof
    /// A RST: read() failed with ECONNRESET.
    case reset
    /// The deadline passed with the connection still open.
    case timeout
}

/// A blocking-style TCP client over a non-blocking `Socket`: every call waits at most its timeout.
final class LoopbackClient {
    let socket: Socket
    /// Where it is connected.
    let address: SocketAddress

    private init(socket: Socket, address: SocketAddress) {
        self.socket = socket
        self.address = address
    }

    deinit {
        // Socket asserts it was closed; a failing test must not turn into a crash.
        socket.close()
    }

    /// Connects to `host:port` on loopback.
    ///
    /// - Parameters:
    ///   - receiveBuffer: SO_RCVBUF to set before connecting (limits the window the server can fill).
    ///   - sendBuffer: SO_SNDBUF to set before connecting.
    static func connect(
        port: UInt16,
        host: String = "127.0.0.1",
        receiveBuffer: Int? = nil,
        sendBuffer: Int? = nil,
        noDelay: Bool = true,
        timeout: Duration = TestDeadline.generous
    ) throws -> LoopbackClient {
        guard let address = SocketAddress(ipv4: host, port: port) ?? SocketAddress(ipv6: host, port: port) else {
            throw LoopbackFailure("not a numeric address: \(host)")
        }
        let socket = try Socket(family: address.family)
        do {
            if let receiveBuffer { try socket.setReceiveBufferSize(receiveBuffer) }
            if let sendBuffer { try socket.setSendBufferSize(sendBuffer) }
            if try socket.connect(to: address) == .inProgress {
                guard try socket.wait(for: .writable, timeout: timeout) == .ready else {
                    throw LoopbackFailure("connect to \(address) timed out")
                }
                try socket.finishConnect(to: address)
            }
            if noDelay { try socket.setNoDelay(true) }
        } catch {
            socket.close()
            throw error
        }
        return LoopbackClient(socket: socket, address: address)
    }

    /// Wraps an accepted socket.
    init(accepted socket: Socket, peer: SocketAddress) {
        self.socket = socket
        self.address = peer
    }

    // MARK: - Sending

    /// Writes all of `bytes`, waiting for room; throws if no room comes within `timeout`.
    func send(_ bytes: [UInt8], timeout: Duration = TestDeadline.generous) throws {
        let outcome = try bytes.withUnsafeBytes { try socket.writeAll($0, timeout: timeout) }
        guard outcome == .ready else { throw LoopbackFailure("sending \(bytes.count) bytes to \(address) timed out") }
    }

    /// Writes `bytes` one byte per send(2) call, back to back.
    func sendOneBytePerCall(_ bytes: [UInt8], timeout: Duration = TestDeadline.generous) throws {
        for byte in bytes { try send([byte], timeout: timeout) }
    }

    /// Writes `bytes` as far as the kernel takes them right now; returns how many it took.
    func sendWhatFits(_ bytes: UnsafeRawBufferPointer) throws -> Int {
        guard case .processed(let written) = try socket.write(bytes) else { return 0 }
        return written
    }

    /// Sends FIN; reading goes on.
    func shutdownWrite() throws {
        try socket.shutdown(.write)
    }

    // MARK: - Receiving

    /// One read of at most `limit` bytes: the bytes, `[]` at EOF; throws on timeout or reset.
    func readSome(limit: Int = 65536, timeout: Duration = TestDeadline.generous) throws -> [UInt8] {
        var buffer = [UInt8](repeating: 0, count: limit)
        let deadline = ContinuousClock.now + timeout
        while true {
            let left = deadline - ContinuousClock.now
            guard left > .zero, try socket.wait(for: .readable, timeout: left) == .ready else {
                throw LoopbackFailure("no data from \(address) within \(timeout)")
            }
            let result = try buffer.withUnsafeMutableBytes { try socket.read(into: $0) }
            if case .processed(let count) = result { return Array(buffer[0..<count]) }
        }
    }

    /// Reads exactly `count` bytes; throws at EOF, reset or timeout.
    func readExactly(_ count: Int, timeout: Duration = TestDeadline.generous) throws -> [UInt8] {
        var received: [UInt8] = []
        let deadline = ContinuousClock.now + timeout
        while received.count < count {
            let chunk = try readSome(limit: min(65536, count - received.count), timeout: deadline - ContinuousClock.now)
            if chunk.isEmpty {
                throw LoopbackFailure("\(address) closed after \(received.count) of \(count) bytes")
            }
            received += chunk
        }
        return received
    }

    /// Reads until EOF, a reset or the deadline: everything received and how it ended.
    func readToEnd(timeout: Duration = TestDeadline.generous) -> (bytes: [UInt8], end: StreamEnd) {
        var received: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 65536)
        let deadline = ContinuousClock.now + timeout
        while true {
            let left = deadline - ContinuousClock.now
            guard left > .zero else { return (received, .timeout) }
            do {
                guard try socket.wait(for: .readable, timeout: left) == .ready else { return (received, .timeout) }
                let result = try buffer.withUnsafeMutableBytes { try socket.read(into: $0) }
                guard case .processed(let count) = result else { continue }
                if count == 0 { return (received, .eof) }
                received += buffer[0..<count]
            } catch {
                return (received, .reset)
            }
        }
    }

    /// Reads one app-protocol message; throws if the stream ends or breaks first.
    func readFrame(timeout: Duration = TestDeadline.generous) throws -> Frame {
        var decoder = FrameDecoder(maximumContentLength: 1 << 24)
        let deadline = ContinuousClock.now + timeout
        while true {
            if let frame = try decoder.next() { return frame }
            let chunk = try readSome(timeout: deadline - ContinuousClock.now)
            if chunk.isEmpty {
                try decoder.finish()
                throw LoopbackFailure("\(address) closed before a whole message")
            }
            decoder.feed(chunk)
        }
    }

    // MARK: - Closing

    /// Closes with SO_LINGER 0, so the kernel sends RST instead of FIN.
    func reset() {
        try? socket.setLingerZero()
        socket.close()
    }

    /// Closes normally (FIN).
    func close() {
        socket.close()
    }
}

/// A listener on 127.0.0.1 and a free port, for tests that play the server.
final class LoopbackListener {
    let socket: Socket
    let port: UInt16

    init(host: String = "127.0.0.1") throws {
        guard let address = SocketAddress(ipv4: host, port: 0) ?? SocketAddress(ipv6: host, port: 0) else {
            throw LoopbackFailure("not a numeric address: \(host)")
        }
        socket = try Socket(family: address.family)
        do {
            try socket.setReuseAddress(true)
            try socket.bind(to: address)
            try socket.listen(backlog: 16)
            port = try socket.localAddress().port
        } catch {
            socket.close()
            throw error
        }
    }

    deinit {
        socket.close()
    }

    /// Waits at most `timeout` for a connection.
    func accept(timeout: Duration = TestDeadline.generous) throws -> LoopbackClient {
        let deadline = ContinuousClock.now + timeout
        while true {
            let left = deadline - ContinuousClock.now
            guard left > .zero, try socket.wait(for: .readable, timeout: left) == .ready else {
                throw LoopbackFailure("no connection on port \(port) within \(timeout)")
            }
            if let (accepted, peer) = try socket.accept() {
                return LoopbackClient(accepted: accepted, peer: peer)
            }
        }
    }
}

// MARK: - Bytes

/// `count` bytes from the kernel's random source.
func randomBytes(_ count: Int) throws -> [UInt8] {
    var bytes = [UInt8](repeating: 0, count: count)
    let fd = open("/dev/urandom", O_RDONLY | O_CLOEXEC)
    guard fd >= 0 else { throw LoopbackFailure("cannot open /dev/urandom") }
    defer { Glibc.close(fd) }
    var offset = 0
    while offset < count {
        let got = bytes.withUnsafeMutableBytes { Glibc.read(fd, $0.baseAddress! + offset, count - offset) }
        guard got > 0 else { throw LoopbackFailure("short read from /dev/urandom") }
        offset += got
    }
    return bytes
}

extension Array where Element == UInt8 {
    /// Bytes from hexadecimal text such as "00ff7b"; nil if it is not hex.
    init?(hex: some StringProtocol) {
        let digits = Array(hex.utf8)
        guard digits.count % 2 == 0 else { return nil }
        var bytes: [UInt8] = []
        bytes.reserveCapacity(digits.count / 2)
        var index = 0
        while index < digits.count {
            guard let high = Self.nibble(digits[index]), let low = Self.nibble(digits[index + 1]) else { return nil }
            bytes.append(high << 4 | low)
            index += 2
        }
        self = bytes
    }

    private static func nibble(_ digit: UInt8) -> UInt8? {
        switch digit {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): digit - UInt8(ascii: "0")
        case UInt8(ascii: "a")...UInt8(ascii: "f"): digit - UInt8(ascii: "a") + 10
        case UInt8(ascii: "A")...UInt8(ascii: "F"): digit - UInt8(ascii: "A") + 10
        default: nil
        }
    }

    /// Lowercase hexadecimal, as Python's `bytes.hex()`.
    var hex: String {
        let digits = Array("0123456789abcdef".utf8)
        var text: [UInt8] = []
        text.reserveCapacity(count * 2)
        for byte in self {
            text.append(digits[Int(byte >> 4)])
            text.append(digits[Int(byte & 0xF)])
        }
        return String(decoding: text, as: UTF8.self)
    }
}

extension ChildProcess {
    /// Waits for the server's "Accepted connection from" line of each of `clients`, in any order (the loops
    /// of --workers print them as each accepts), and expects exactly those clients' lines.
    func waitForAcceptedLines(of clients: [LoopbackClient], sourceLocation: SourceLocation = #_sourceLocation) throws {
        var accepted = Set<String>()
        for _ in clients {
            accepted.insert(try waitForLine { $0.hasPrefix("Accepted connection from 127.0.0.1:") })
        }
        let expected = Set(clients.map { "Accepted connection from 127.0.0.1:\($0.boundPort)" })
        #expect(accepted == expected, sourceLocation: sourceLocation)
    }
}
