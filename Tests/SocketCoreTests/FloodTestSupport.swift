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
        guard let ss = ssPath else { return nil }
        let process = Process()
        process.executableURL = URL(fileURLWithPath: ss)
        process.arguments = ["-tnH", "state", "established"]
        let pipe = Pipe()
        process.standardOutput = pipe
        try process.run()
        let data = pipe.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        // "0      8192      127.0.0.1:40000     127.0.0.1:50000" (with a state filter, no State column)
        for line in String(decoding: data, as: UTF8.self).split(separator: "\n") {
            let fields = line.split(separator: " ")
            guard fields.count >= 4, fields[2] == local, fields[3] == remote,
                let receive = Int(fields[0]), let send = Int(fields[1])
            else { continue }
            return (receive, send)
        }
        return nil
    }
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
