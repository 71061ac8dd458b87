// ChildProcess.swift -- runs the real sockettool binary (or python3) for CLI tests: stdout and stderr
// read line by line with deadlines, signals, and an exit status that is always waited for with a timeout.
import CSocketShim
import Foundation
import Glibc
import Testing

/// Something a child process test waited for did not happen in time.
struct ChildProcessTimeout: Error, CustomStringConvertible {
    let what: String
    let output: String
    var description: String { "timed out waiting for \(what); output so far:\n\(output)" }
}

/// A child process with pipes on stdin, stdout and stderr.
final class ChildProcess: @unchecked Sendable {
    // @unchecked: each test uses its ChildProcess from one task at a time.

    /// The sockettool binary built next to this test bundle.
    static var sockettool: String {
        let bundle = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent()
        let candidate = bundle.appendingPathComponent("sockettool").path
        if FileManager.default.fileExists(atPath: candidate) { return candidate }
        // `swift test` from the package root: .build/debug/sockettool
        return URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().deletingLastPathComponent().appendingPathComponent(".build/debug/sockettool")
            .path
    }

    /// Tests/Interop, where the Python peers live.
    static var interopDirectory: String {
        URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().appendingPathComponent("Interop").path
    }

    let pid: pid_t
    private var stdinDescriptor: CInt
    private let stdoutDescriptor: CInt
    private let stderrDescriptor: CInt
    private var stdoutBuffer: [UInt8] = []
    private var stderrBuffer: [UInt8] = []
    private var stdoutClosed = false
    private var stderrClosed = false
    private var exitStatus: Int32?
    /// Every stdout line read so far.
    private(set) var stdoutLines: [String] = []

    /// Starts `executable` with `arguments`. The environment is the test's own plus `environment`.
    ///
    /// - Parameter passing: Descriptors the child gets as 3, 4, ... (what socket activation passes).
    init(
        _ executable: String,
        _ arguments: [String],
        environment: [String: String] = [:],
        passing descriptors: [CInt] = []
    ) throws {
        let inPipe = try Self.makePipe()
        let outPipe = try Self.makePipe()
        let errPipe = try Self.makePipe()
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_adddup2(&actions, inPipe[0], 0)
        posix_spawn_file_actions_adddup2(&actions, outPipe[1], 1)
        posix_spawn_file_actions_adddup2(&actions, errPipe[1], 2)
        for fd in inPipe + outPipe + errPipe { posix_spawn_file_actions_addclose(&actions, fd) }
        // dup2 clears close-on-exec on the copy, so only the child holds these as 3, 4, ...
        for (index, fd) in descriptors.enumerated() { posix_spawn_file_actions_adddup2(&actions, fd, CInt(3 + index)) }
        var attributes = posix_spawnattr_t()
        posix_spawnattr_init(&attributes)
        defer { posix_spawnattr_destroy(&attributes) }
        // The child starts with default signal handling, whatever the test runner set.
        var defaults = sigset_t()
        sigemptyset(&defaults)
        for signal in [SIGINT, SIGTERM, SIGPIPE, SIGHUP] { sigaddset(&defaults, signal) }
        posix_spawnattr_setsigdefault(&attributes, &defaults)
        var empty = sigset_t()
        sigemptyset(&empty)
        posix_spawnattr_setsigmask(&attributes, &empty)
        posix_spawnattr_setflags(&attributes, Int16(POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETSIGMASK))

        var env = ProcessInfo.processInfo.environment
        for (key, value) in environment { env[key] = value }
        let argv = ([executable] + TestWorkers.adjusted(arguments)).map { strdup($0) } + [nil]
        let envp = env.map { strdup("\($0.key)=\($0.value)") } + [nil]
        defer {
            for pointer in argv { free(pointer) }
            for pointer in envp { free(pointer) }
        }
        var child: pid_t = 0
        let result = posix_spawnp(&child, executable, &actions, &attributes, argv, envp)
        close(inPipe[0])
        close(outPipe[1])
        close(errPipe[1])
        guard result == 0 else {
            close(inPipe[1])
            close(outPipe[0])
            close(errPipe[0])
            throw POSIXError(.init(rawValue: result) ?? .EIO)
        }
        pid = child
        stdinDescriptor = inPipe[1]
        stdoutDescriptor = outPipe[0]
        stderrDescriptor = errPipe[0]
        _ = fcntl(stdoutDescriptor, F_SETFL, O_NONBLOCK)
        _ = fcntl(stderrDescriptor, F_SETFL, O_NONBLOCK)
    }

    /// A pipe whose ends are close-on-exec from the start, so that a child another test spawns at the same
    /// moment cannot inherit them (it would hold a write end open, and this child's reader would never see
    /// EOF). pipe2(O_CLOEXEC), through the library's shim (Swift's Glibc module hides pipe2); the shim also
    /// sets O_NONBLOCK, which the child's ends and the stdin end must not have: cleared again here, since
    /// status flags have no such race. posix_spawn's dup2 onto 0, 1, 2 clears close-on-exec for the child.
    private static func makePipe() throws -> [CInt] {
        var ends: [CInt] = [-1, -1]
        guard st_pipe_nonblocking(&ends) == 0 else { throw POSIXError(.init(rawValue: errno) ?? .EIO) }
        for end in ends { _ = st_set_nonblocking(end, 0) }
        return ends
    }

    /// Starts sockettool with `arguments`.
    convenience init(
        sockettool arguments: [String],
        environment: [String: String] = [:],
        passing descriptors: [CInt] = []
    ) throws {
        try self.init(ChildProcess.sockettool, arguments, environment: environment, passing: descriptors)
    }

    deinit {
        if exitStatus == nil {
            kill(pid, SIGKILL)
            var status: Int32 = 0
            waitpid(pid, &status, 0)
        }
        if stdinDescriptor >= 0 { close(stdinDescriptor) }
        close(stdoutDescriptor)
        close(stderrDescriptor)
    }

    // MARK: - Output

    /// The next stdout line, waiting at most `timeout`; nil at end of output.
    func nextLine(timeout: Duration = TestDeadline.generous) throws -> String? {
        let deadline = ContinuousClock.now + timeout
        while true {
            if let newline = stdoutBuffer.firstIndex(of: UInt8(ascii: "\n")) {
                let line = String(decoding: stdoutBuffer[..<newline], as: UTF8.self)
                stdoutBuffer.removeSubrange(...newline)
                stdoutLines.append(line)
                return line
            }
            if stdoutClosed {
                guard !stdoutBuffer.isEmpty else { return nil }
                let line = String(decoding: stdoutBuffer, as: UTF8.self)
                stdoutBuffer.removeAll()
                stdoutLines.append(line)
                return line
            }
            guard try pump(until: deadline) else { throw ChildProcessTimeout(what: "a line", output: transcript) }
        }
    }

    /// Reads stdout lines until one satisfies `predicate`; returns it.
    func waitForLine(timeout: Duration = TestDeadline.generous, _ predicate: (String) -> Bool) throws -> String {
        let deadline = ContinuousClock.now + timeout
        while true {
            let remaining = deadline - ContinuousClock.now
            guard remaining > .zero, let line = try nextLine(timeout: remaining) else {
                throw ChildProcessTimeout(what: "a matching line", output: transcript)
            }
            if predicate(line) { return line }
        }
    }

    /// The port from the "Listening on HOST:PORT" line (or the JSON "listening" event).
    func listeningPort(timeout: Duration = TestDeadline.generous) throws -> UInt16 {
        let line = try waitForLine(timeout: timeout) { $0.hasPrefix("Listening on") || $0.contains("\"listening\"") }
        if line.hasPrefix("Listening on"), let port = UInt16(line.split(separator: ":").last ?? "") { return port }
        let object = try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any]
        guard let port = object?["port"] as? Int else { throw ChildProcessTimeout(what: "a port", output: line) }
        return UInt16(port)
    }

    /// Everything on stderr so far (non-blocking).
    var stderrText: String {
        _ = try? pump(until: ContinuousClock.now)
        return String(decoding: stderrBuffer, as: UTF8.self)
    }

    /// Bytes the child wrote to stdout that this side has not read yet (FIONREAD on the pipe; reads nothing).
    var unreadStdoutBytes: Int {
        var count: CInt = 0
        return st_input_queue_bytes(stdoutDescriptor, &count) == 0 ? Int(count) : 0
    }

    /// stdout lines read plus what is buffered, and stderr: for failure messages.
    var transcript: String {
        "stdout:\n" + (stdoutLines + [String(decoding: stdoutBuffer, as: UTF8.self)]).joined(separator: "\n")
            + "\nstderr:\n" + String(decoding: stderrBuffer, as: UTF8.self)
    }

    /// Reads whatever is available from both pipes, waiting until `deadline` for something.
    /// - Returns: false if the deadline passed with nothing new.
    @discardableResult
    private func pump(until deadline: ContinuousClock.Instant) throws -> Bool {
        var fds = [
            pollfd(fd: stdoutClosed ? -1 : stdoutDescriptor, events: Int16(POLLIN), revents: 0),
            pollfd(fd: stderrClosed ? -1 : stderrDescriptor, events: Int16(POLLIN), revents: 0),
        ]
        if stdoutClosed && stderrClosed { return false }
        let remaining = deadline - ContinuousClock.now
        let milliseconds = max(
            0,
            Int32(remaining.components.seconds * 1000 + remaining.components.attoseconds / 1_000_000_000_000_000)
        )
        let ready = poll(&fds, 2, milliseconds)
        if ready <= 0 { return false }
        var progressed = false
        var chunk = [UInt8](repeating: 0, count: 65536)
        for (index, fd) in [stdoutDescriptor, stderrDescriptor].enumerated() where fds[index].revents != 0 {
            let count = chunk.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
            if count > 0 {
                if index == 0 {
                    stdoutBuffer.append(contentsOf: chunk[0..<count])
                } else {
                    stderrBuffer.append(contentsOf: chunk[0..<count])
                }
                progressed = true
            } else if count == 0 {
                if index == 0 { stdoutClosed = true } else { stderrClosed = true }
                progressed = true
            }
        }
        return progressed
    }

    // MARK: - Input, signals, exit

    /// Writes to the child's stdin.
    func write(_ text: String) {
        var bytes = Array(text.utf8)
        var offset = 0
        while offset < bytes.count {
            let written = bytes.withUnsafeMutableBytes {
                Glibc.write(stdinDescriptor, $0.baseAddress! + offset, $0.count - offset)
            }
            if written <= 0 { return }
            offset += written
        }
    }

    /// Writes `text` to stdin while reading the child's output, so a child that answers as it reads
    /// (an echo through netcat mode) cannot deadlock against a full pipe.
    func feed(_ text: String, timeout: Duration) throws {
        let bytes = Array(text.utf8)
        _ = fcntl(stdinDescriptor, F_SETFL, O_NONBLOCK)
        let deadline = ContinuousClock.now + timeout
        var offset = 0
        while offset < bytes.count {
            let written = bytes.withUnsafeBytes {
                Glibc.write(stdinDescriptor, $0.baseAddress! + offset, $0.count - offset)
            }
            if written > 0 {
                offset += written
            } else if written < 0 && errno != EAGAIN && errno != EINTR {
                return  // the child closed its stdin
            } else {
                guard ContinuousClock.now < deadline else {
                    throw ChildProcessTimeout(what: "stdin to drain", output: transcript)
                }
                try pump(until: ContinuousClock.now + .milliseconds(10))
            }
        }
    }

    /// Closes the child's stdin (end of input).
    func closeInput() {
        if stdinDescriptor >= 0 { close(stdinDescriptor) }
        stdinDescriptor = -1
    }

    /// Sends a signal.
    func send(_ signal: CInt) {
        kill(pid, signal)
    }

    /// Waits for the child to exit, reading its output meanwhile; returns the exit status, or 128 + signal.
    func waitForExit(timeout: Duration = TestDeadline.generous) throws -> Int32 {
        if let exitStatus { return exitStatus }
        let deadline = ContinuousClock.now + timeout
        while ContinuousClock.now < deadline {
            var status: Int32 = 0
            let result = waitpid(pid, &status, WNOHANG)
            if result == pid {
                let code = status & 0x7F == 0 ? (status >> 8) & 0xFF : 128 + (status & 0x7F)
                exitStatus = code
                // Drain what is left in the pipes.
                while try pump(until: ContinuousClock.now + .milliseconds(50)) {}
                return code
            }
            try pump(until: ContinuousClock.now + .milliseconds(20))
        }
        throw ChildProcessTimeout(what: "exit", output: transcript)
    }

    /// All remaining stdout lines after exit.
    func remainingLines() throws -> [String] {
        var lines: [String] = []
        while let line = try nextLine(timeout: .seconds(5)) { lines.append(line) }
        return lines
    }

    /// Runs a command to completion.
    /// - Returns: exit status, stdout and stderr.
    static func run(
        _ executable: String,
        _ arguments: [String],
        input: String? = nil,
        environment: [String: String] = [:],
        timeout: Duration = TestDeadline.generous
    ) throws -> (status: Int32, stdout: String, stderr: String) {
        let child = try ChildProcess(executable, arguments, environment: environment)
        if let input { try child.feed(input, timeout: timeout) }
        child.closeInput()
        let status = try child.waitForExit(timeout: timeout)
        let lines = child.stdoutLines + (try child.remainingLines())
        return (status, lines.joined(separator: "\n"), child.stderrText)
    }

    /// Runs sockettool to completion.
    static func sockettool(
        _ arguments: [String],
        input: String? = nil,
        environment: [String: String] = [:],
        timeout: Duration = TestDeadline.generous
    ) throws -> (status: Int32, stdout: String, stderr: String) {
        try run(Self.sockettool, arguments, input: input, environment: environment, timeout: timeout)
    }
}

/// A server child process that is stopped (SIGKILL) when the test ends, even on failure.
func withServer<T>(
    _ arguments: [String],
    environment: [String: String] = [:],
    _ body: (ChildProcess, UInt16) throws -> T
) throws -> T {
    let server = try ChildProcess(sockettool: arguments, environment: environment)
    let port = try server.listeningPort()
    return try body(server, port)
}
