// FloodCLISupport.swift -- what the flood CLI tests read independently of sockettool: /proc/net/tcp parsed
// with Foundation, and NDJSON lines.
import Foundation
import Glibc
import Testing

/// One IPv4 socket of /proc/net/tcp, addresses decoded to "a.b.c.d:port".
struct FloodProcSocket: Equatable {
    let local: String
    let remote: String
    let state: Int
    let sendQueue: Int
    let receiveQueue: Int

    /// The socket `local` connected to `remote`, or nil.
    static func find(local: String, remote: String) throws -> FloodProcSocket? {
        // String(contentsOfFile:) stops after one page of a /proc file; read to the end.
        guard let handle = FileHandle(forReadingAtPath: "/proc/net/tcp") else { return nil }
        defer { try? handle.close() }
        let text = String(decoding: try handle.readToEnd() ?? Data(), as: UTF8.self)
        for line in text.split(separator: "\n").dropFirst() {
            let fields = line.split(separator: " ")
            guard fields.count > 4, decode(fields[1]) == local, decode(fields[2]) == remote else { continue }
            let queues = fields[4].split(separator: ":")
            guard queues.count == 2, let state = Int(fields[3], radix: 16), let tx = Int(queues[0], radix: 16),
                let rx = Int(queues[1], radix: 16)
            else { return nil }
            return FloodProcSocket(local: local, remote: remote, state: state, sendQueue: tx, receiveQueue: rx)
        }
        return nil
    }

    /// "0100007F:D431" -> "127.0.0.1:54321": the address word's bytes in memory order are network order.
    static func decode(_ field: Substring) -> String? {
        let parts = field.split(separator: ":")
        guard parts.count == 2, parts[0].count == 8, let word = UInt32(parts[0], radix: 16),
            let port = UInt16(parts[1], radix: 16)
        else { return nil }
        return withUnsafeBytes(of: word) { Array($0) }.map(String.init).joined(separator: ".") + ":\(port)"
    }
}

/// Every stdout line as a JSON object; records an issue for a line that is not one.
func floodEvents(_ stdout: String, sourceLocation: SourceLocation = #_sourceLocation) -> [[String: Any]] {
    stdout.split(separator: "\n").compactMap { line in
        let object = try? JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any]
        if object == nil { Issue.record("not a JSON object: \(line)", sourceLocation: sourceLocation) }
        return object
    }
}
