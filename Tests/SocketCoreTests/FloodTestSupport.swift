// FloodTestSupport.swift -- the kernel's own view of a socket, read here independently of SocketCore:
// /proc/net/tcp parsed with Foundation, and `ss -tn` when it is installed. The flood tests compare the
// numbers sockettool reports with these.
import Foundation
import SocketCore

/// One IPv4 socket as /proc/net/tcp lists it, addresses decoded to "a.b.c.d:port".
struct FloodProcRow: Equatable {
    let local: String
    let remote: String
    /// The TCP state number (1 = ESTABLISHED).
    let state: Int
    /// tx_queue: the Send-Q.
    let sendQueue: Int
    /// rx_queue: the Recv-Q.
    let receiveQueue: Int
}

enum FloodKernelView {
    /// Every row of /proc/net/tcp.
    static func procRows() throws -> [FloodProcRow] {
        // String(contentsOfFile:) stops after one page of a /proc file; read to the end.
        guard let handle = FileHandle(forReadingAtPath: "/proc/net/tcp") else { return [] }
        defer { try? handle.close() }
        let text = String(decoding: try handle.readToEnd() ?? Data(), as: UTF8.self)
        return text.split(separator: "\n").dropFirst().compactMap { line in
            let fields = line.split(separator: " ")
            guard fields.count > 4, let local = decode(fields[1]), let remote = decode(fields[2]),
                let state = Int(fields[3], radix: 16)
            else { return nil }
            let queues = fields[4].split(separator: ":")
            guard queues.count == 2, let tx = Int(queues[0], radix: 16), let rx = Int(queues[1], radix: 16) else {
                return nil
            }
            return FloodProcRow(local: local, remote: remote, state: state, sendQueue: tx, receiveQueue: rx)
        }
    }

    /// The row of the socket `local` connected to `remote` ("127.0.0.1:port" each).
    static func procRow(local: String, remote: String) throws -> FloodProcRow? {
        try procRows().first { $0.local == local && $0.remote == remote }
    }

    /// "0100007F:D431" -> "127.0.0.1:54321". The kernel prints the address word as it sits in memory, read
    /// as a native integer, so its bytes in memory order are the address in network order.
    static func decode(_ field: Substring) -> String? {
        let parts = field.split(separator: ":")
        guard parts.count == 2, parts[0].count == 8, let word = UInt32(parts[0], radix: 16),
            let port = UInt16(parts[1], radix: 16)
        else { return nil }
        let bytes = withUnsafeBytes(of: word) { Array($0) }
        return bytes.map(String.init).joined(separator: ".") + ":\(port)"
    }

    /// The ss binary, if this machine has one.
    static let ssPath = ["/usr/bin/ss", "/bin/ss", "/usr/sbin/ss", "/sbin/ss"].first {
        FileManager.default.isExecutableFile(atPath: $0)
    }

    /// (Recv-Q, Send-Q) of the established socket from `local` to `remote`, as `ss -tn` prints them; nil
    /// when ss is not installed or does not list it.
    static func ssQueues(local: String, remote: String) throws -> (receive: Int, send: Int)? {
        guard let ss = ssPath, let localPort = local.split(separator: ":").last,
            let remotePort = remote.split(separator: ":").last
        else { return nil }
        let output = try runToEnd(
            ss,
            ["-tnH", "state", "established", "( sport = :\(localPort) and dport = :\(remotePort) )"]
        )
        // "0      8192      127.0.0.1:40000     127.0.0.1:50000" (with a state filter, no State column)
        for line in output.split(separator: "\n") {
            let fields = line.split(separator: " ")
            guard fields.count >= 4, fields[2] == local, fields[3] == remote,
                let receive = Int(fields[0]), let send = Int(fields[1])
            else { continue }
            return (receive, send)
        }
        return nil
    }
}

/// A command run by `runToEnd` failed or did not end.
struct CommandFailure: Error, CustomStringConvertible {
    let description: String
}

/// Runs `path` to its end and returns its stdout; throws if it fails or is still running after `timeout`
/// (then it is killed). For commands whose output is a few lines: it is read once the command exits.
func runToEnd(_ path: String, _ arguments: [String], timeout: Duration = .seconds(30)) throws -> String {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: path)
    process.arguments = arguments
    let pipe = Pipe()
    process.standardOutput = pipe
    let exited = DispatchSemaphore(value: 0)
    process.terminationHandler = { _ in exited.signal() }
    try process.run()
    let (seconds, attoseconds) = timeout.components
    let wait = DispatchTimeInterval.milliseconds(Int(seconds) * 1000 + Int(attoseconds / 1_000_000_000_000_000))
    guard exited.wait(timeout: .now() + wait) == .success else {
        process.terminate()
        throw CommandFailure(description: "\(path) \(arguments) still running after \(timeout)")
    }
    guard process.terminationStatus == 0 else {
        throw CommandFailure(description: "\(path) \(arguments) exited with \(process.terminationStatus)")
    }
    return String(decoding: try pipe.fileHandleForReading.readToEnd() ?? Data(), as: UTF8.self)
}

/// An EventLog whose lines are kept in memory.
final class FloodCapturedLog {
    var lines: [String] = []
    var diagnostics: [String] = []

    func makeLog(format: EventLog.Format = .text) -> EventLog {
        EventLog(
            format: format,
            verbosity: .normal,
            output: OutputBuffer(capture: { [self] in self.lines.append($0) }),
            diagnostics: OutputBuffer(capture: { [self] in self.diagnostics.append($0) })
        )
    }

    /// Progress as plain lines, no live line: what a pipe gets.
    func makeDisplay(format: EventLog.Format = .text) -> FloodDisplay {
        FloodDisplay(log: makeLog(format: format), showsLiveLine: false, printsIntervalLines: true)
    }
}
