// ResilienceSupport.swift -- what the resilience suites share: a reactor server under test (serve multi or
// serve app) with one good exchange for each, the kernel's TCP tables read straight from /proc, and the
// small measurements (a stream's state without waiting, stderr lines, milliseconds).
import Foundation
import Glibc
import SocketCore
import Testing

/// The two servers on the reactor; most resilience properties hold for both.
enum ReactorKind: String, Sendable, CaseIterable, CustomTestStringConvertible {
    case multi
    case app

    var testDescription: String { "serve \(rawValue)" }
}

/// A `serve multi` or `serve app` child process and its port. SIGKILLed when dropped (`ChildProcess`).
final class ResilientServer {
    let kind: ReactorKind
    let process: ChildProcess
    let port: UInt16

    /// Starts `sockettool serve KIND 127.0.0.1 0 ARGUMENTS`, under `prlimit --nofile=SOFT[:HARD]` when a limit is given
    /// (prlimit sets its own limit and execs, so the pid is the server's).
    init(_ kind: ReactorKind, _ arguments: [String] = [], descriptorLimit: String? = nil) throws {
        self.kind = kind
        markInheritedDescriptorsCloseOnExec()
        let command = ["serve", kind.rawValue, "127.0.0.1", "0"] + arguments
        if let descriptorLimit {
            process = try ChildProcess("prlimit", ["--nofile=\(descriptorLimit)", ChildProcess.sockettool] + command)
        } else {
            process = try ChildProcess(sockettool: command)
        }
        port = try process.listeningPort()
    }

    var pid: pid_t { process.pid }

    /// True while the process has not exited. Reads /proc instead of calling waitpid, which would reap the
    /// child and leave `ChildProcess.waitForExit` nothing to wait for.
    var isRunning: Bool { resilienceProcessIsRunning(pid) }

    /// One good exchange: 48 bytes echoed (multi) or the morpheus search answered (app).
    ///
    /// - Returns: How long it took, connect included.
    /// - Throws: If the answer is late, wrong or missing.
    @discardableResult
    func exchange(timeout: Duration = TestDeadline.generous) throws -> Duration {
        let started = ContinuousClock.now
        let client = try LoopbackClient.connect(port: port, timeout: timeout)
        defer { client.close() }
        switch kind {
        case .multi:
            let message = Array("resilience probe \(UInt64.random(in: 0...UInt64.max))".utf8)
            try client.send(message, timeout: timeout)
            let echoed = try client.readExactly(message.count, timeout: timeout)
            guard echoed == message else { throw LoopbackFailure("echo differs: \(echoed.hex)") }
        case .app:
            try client.send(AppWire.searchRequest("morpheus"), timeout: timeout)
            let frame = try client.readFrame(timeout: timeout)
            guard AppWire.result(of: frame) == "Follow the white rabbit. \u{1F430}" else {
                throw LoopbackFailure("wrong answer: \(frame.content)")
            }
        }
        return ContinuousClock.now - started
    }

    /// Reads what the server printed so far, so a long test cannot fill its pipes and stop it.
    func drainOutput() {
        _ = process.stderrText
    }

    /// stderr lines so far that contain every one of `parts`.
    func stderrLines(containing parts: String...) -> [String] {
        process.stderrText.split(separator: "\n").map(String.init).filter { line in
            parts.allSatisfy { line.contains($0) }
        }
    }

    /// What the process is doing, for failure messages: its state, where it sleeps in the kernel, its
    /// descriptor count and what it printed.
    var diagnostics: String {
        let stat = (try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8)) ?? "gone"
        let state = stat.split(separator: ")").last?.split(separator: " ").first ?? "?"
        let wchan = (try? String(contentsOfFile: "/proc/\(pid)/wchan", encoding: .utf8)) ?? "?"
        let descriptors = (try? ProcessProbe.openDescriptors(pid)).map(String.init) ?? "?"
        return "state \(state), wchan \(wchan), \(descriptors) descriptors\n\(process.transcript.suffix(2000))"
    }

    /// SIGTERM, then the exit status (bounded).
    func terminate(timeout: Duration = TestDeadline.generous) throws -> Int32 {
        process.send(SIGTERM)
        return try process.waitForExit(timeout: timeout)
    }
}

/// Marks every descriptor of this test process above stderr close-on-exec, so that a server started next
/// inherits nothing but its three pipes. Without this it inherits swift-test's own descriptors that lack the
/// flag (its socket pairs, files Foundation opened): under `prlimit --nofile=32` every one of them is a
/// descriptor the server does not have for itself.
/// Harmless to this process: close-on-exec only changes what an exec'd child inherits, and posix_spawn's
/// dup2 onto 0, 1, 2 clears the flag for the descriptors a child is meant to get.
func markInheritedDescriptorsCloseOnExec() {
    guard let names = try? FileManager.default.contentsOfDirectory(atPath: "/proc/self/fd") else { return }
    for name in names {
        guard let fd = CInt(name), fd > 2 else { continue }
        let flags = fcntl(fd, F_GETFD)
        if flags >= 0 && flags & FD_CLOEXEC == 0 { _ = fcntl(fd, F_SETFD, flags | FD_CLOEXEC) }
    }
}

/// True while `pid` exists and is not a zombie.
func resilienceProcessIsRunning(_ pid: pid_t) -> Bool {
    guard let text = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
        let close = text.lastIndex(of: ")")
    else { return false }
    let state = text[text.index(after: close)...].split(separator: " ").first
    return state != "Z" && state != "X"
}

extension ProcessProbe {
    /// The soft "Max open files" of a process, from /proc/PID/limits.
    static func descriptorLimit(_ pid: pid_t) throws -> Int {
        let text = try String(contentsOfFile: "/proc/\(pid)/limits", encoding: .utf8)
        for line in text.split(separator: "\n") where line.hasPrefix("Max open files") {
            let numbers = line.split(separator: " ").compactMap { Int($0) }
            if let soft = numbers.first { return soft }
        }
        throw LoopbackFailure("no 'Max open files' in /proc/\(pid)/limits")
    }
}

// MARK: - Streams, looked at without waiting

extension LoopbackClient {
    /// How the stream stands right now, without waiting: nil while it is open with nothing to read, `.eof`
    /// after a FIN, `.reset` after a RST. Bytes that arrived are consumed and returned in `data`.
    func endedNow() -> (end: StreamEnd?, data: [UInt8]) {
        var buffer = [UInt8](repeating: 0, count: 4096)
        var data: [UInt8] = []
        while true {
            do {
                let result = try buffer.withUnsafeMutableBytes { try socket.read(into: $0) }
                guard case .processed(let count) = result else { return (nil, data) }
                if count == 0 { return (.eof, data) }
                data += buffer[0..<count]
            } catch {
                return (.reset, data)
            }
        }
    }

    /// The local port (the peer the server logs).
    var boundPort: UInt16 { (try? socket.localAddress().port) ?? 0 }

    /// Sends as much of `bytes` as the kernel takes until it has had no room for `quiet`, or `cap` bytes went.
    /// - Returns: How many bytes were sent.
    func sendUntilBlocked(_ bytes: [UInt8], quiet: Duration = .milliseconds(300), cap: Int) throws -> Int {
        var sent = 0
        while sent < cap {
            let written = try bytes.withUnsafeBytes { whole in
                try sendWhatFits(UnsafeRawBufferPointer(rebasing: whole[(sent % whole.count)...]))
            }
            sent += written
            if written == 0, try socket.wait(for: .writable, timeout: quiet) == .timedOut { break }
        }
        return sent
    }
}

// MARK: - The kernel's socket tables

/// Sockets as `ss` (iproute2) reports them. The kernel filters by port, so a table swollen with TIME_WAIT
/// entries from earlier storms costs nothing, and the checks do not rely on sockettool's own /proc parser.
enum ResilienceSockets {
    /// The server's side of a loopback connection (local port `server`, peer port `client`): its TCP state
    /// as ss names it ("ESTAB", "CLOSE-WAIT", ...) and its queues; nil when there is no such socket.
    static func serverSide(
        port server: UInt16,
        client: UInt16
    ) throws -> (
        state: String, receiveQueue: Int, sendQueue: Int
    )? {
        // "State Recv-Q Send-Q Local:Port Peer:Port"
        let rows = try ss(["-Htn", "( sport = :\(server) and dport = :\(client) )"])
        guard let fields = rows.first, fields.count >= 3, let received = Int(fields[1]), let unsent = Int(fields[2])
        else { return nil }
        return (fields[0], received, unsent)
    }

    /// Connections waiting in the accept queue of the listener on 127.0.0.1:`port` (nil if none listens).
    static func acceptQueue(port: UInt16) throws -> Int? {
        try listenQueue(port: port)?.waiting
    }

    /// The accept queue of the listener on `port`: connections waiting (ss's Recv-Q) and its backlog (ss's
    /// Send-Q); the kernel counts it full once more than the backlog wait. Nil if nothing listens.
    static func listenQueue(port: UInt16) throws -> (waiting: Int, backlog: Int)? {
        // "LISTEN Recv-Q Send-Q Local:Port Peer:Port"
        guard let fields = try ss(["-Hltn", "( sport = :\(port) )"]).first, fields.count >= 3,
            let waiting = Int(fields[1]), let backlog = Int(fields[2])
        else { return nil }
        return (waiting, backlog)
    }

    /// The local addresses ("127.0.0.1:PORT", "0.0.0.0:PORT", "[::]:PORT", "*:PORT") listening on `port`.
    static func listeners(port: UInt16) throws -> [String] {
        // "LISTEN Recv-Q Send-Q Local:Port Peer:Port"
        try ss(["-Hltn", "( sport = :\(port) )"]).compactMap { $0.count >= 4 ? $0[3] : nil }
    }

    private static func ss(_ arguments: [String]) throws -> [[String]] {
        let result = try ChildProcess.run("ss", arguments, timeout: .seconds(5))
        guard result.status == 0 else { throw LoopbackFailure("ss \(arguments) failed: \(result.stderr)") }
        return result.stdout.split(separator: "\n").map { $0.split(separator: " ").map(String.init) }
    }
}

// MARK: - Numbers

extension Duration {
    /// The duration in milliseconds, for messages and comparisons with a tolerance.
    var millisecondsValue: Double {
        Double(components.seconds) * 1000 + Double(components.attoseconds) / 1e15
    }
}

/// Waits `duration` with poll(2) on nothing: the measuring window for CPU use, never a stand-in for an event.
func measuringWindow(_ duration: Duration) {
    var none = pollfd(fd: -1, events: 0, revents: 0)
    _ = poll(&none, 0, CInt(duration.millisecondsValue))
}
