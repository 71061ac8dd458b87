// KernelTCPTable.swift -- /proc/net/tcp and tcp6, the table netstat reads: any socket of this machine's
// network namespace, with its queues, found by its two addresses. This is how the sender shows the Recv-Q
// of a receiver in another process (`flood serve` on the same host) without asking it.

/// One row of /proc/net/tcp{,6}: a socket as the kernel reports it to netstat.
public struct KernelSocketEntry: Sendable, Equatable {
    /// The TCP state number (1 = ESTABLISHED; `KernelTCPTable.stateName`).
    public var state: UInt8
    /// tx_queue: bytes written and not yet acknowledged, the Send-Q.
    public var sendQueue: Int
    /// rx_queue: bytes received and not yet read, the Recv-Q (for a listener: connections waiting).
    public var receiveQueue: Int
    /// True when found in /proc/net/tcp6 (IPv6, or IPv4 on an IPv6 socket).
    public var isIPv6Table: Bool
}

/// Looks sockets up in the kernel's TCP tables.
public enum KernelTCPTable {
    /// The socket whose local address is `local` and whose peer is `remote`, or nil when this machine has no
    /// such socket (the peer is on another host, or the tables cannot be read).
    public static func entry(local: SocketAddress, remote: SocketAddress) -> KernelSocketEntry? {
        if !local.isIPv6 && !remote.isIPv6,
            let found = search("/proc/net/tcp", local: key(local), remote: key(remote), isIPv6: false)
        {
            return found
        }
        // An IPv4 connection accepted by an IPv6 socket ("::" listener) is listed as ::ffff:a.b.c.d.
        return search("/proc/net/tcp6", local: key6(local), remote: key6(remote), isIPv6: true)
    }

    /// netstat's name for a TCP state number.
    public static func stateName(_ state: UInt8) -> String { SocketState.name(state) }

    /// TCP_ESTABLISHED.
    public static let established: UInt8 = 1
    /// TCP_CLOSE: after a reset (or before connecting).
    public static let closed: UInt8 = 7
    /// TCP_CLOSE_WAIT: the peer sent FIN and this side has not closed yet.
    public static let closeWait: UInt8 = 8

    // MARK: - Parsing

    /// Scans a table for one socket. The table lists every socket of the namespace, TIME_WAIT ones included,
    /// so on a busy host it runs to megabytes: the scan compares bytes in place and allocates nothing per line.
    private static func search(_ path: String, local: String, remote: String, isIPv6: Bool) -> KernelSocketEntry? {
        guard let bytes = try? ProcFiles.read(path) else { return nil }
        let localKey = Array(local.utf8)
        let remoteKey = Array(remote.utf8)
        // "  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode"
        // "   0: 0100007F:FF98 0100007F:D3E2 01 00000000:0001F600 00:00000000 00000000  1000        0 4711"
        return bytes.withUnsafeBufferPointer { text -> KernelSocketEntry? in
            var lineStart = (text.firstIndex(of: UInt8(ascii: "\n")) ?? text.count) + 1
            var fields: [Range<Int>] = []
            fields.reserveCapacity(5)
            while lineStart < text.count {
                var lineEnd = lineStart
                while lineEnd < text.count && text[lineEnd] != UInt8(ascii: "\n") { lineEnd += 1 }
                defer { lineStart = lineEnd + 1 }
                // Fields 1 to 4: local, remote, state, tx:rx.
                fields.removeAll(keepingCapacity: true)
                var index = lineStart
                while fields.count < 5 && index < lineEnd {
                    while index < lineEnd && text[index] == UInt8(ascii: " ") { index += 1 }
                    let fieldStart = index
                    while index < lineEnd && text[index] != UInt8(ascii: " ") { index += 1 }
                    if fieldStart < index { fields.append(fieldStart..<index) }
                    if fields.count == 3 && !matches(text, fields[1], localKey) { break }
                }
                guard fields.count == 5, matches(text, fields[1], localKey), matches(text, fields[2], remoteKey)
                else { continue }
                let queues = String(decoding: UnsafeBufferPointer(rebasing: text[fields[4]]), as: UTF8.self)
                let state = String(decoding: UnsafeBufferPointer(rebasing: text[fields[3]]), as: UTF8.self)
                let parts = queues.split(separator: ":")
                guard parts.count == 2, let code = UInt8(state, radix: 16), let tx = Int(parts[0], radix: 16),
                    let rx = Int(parts[1], radix: 16)
                else { continue }
                return KernelSocketEntry(state: code, sendQueue: tx, receiveQueue: rx, isIPv6Table: isIPv6)
            }
            return nil
        }
    }

    private static func matches(_ text: UnsafeBufferPointer<UInt8>, _ range: Range<Int>, _ key: [UInt8]) -> Bool {
        guard range.count == key.count else { return false }
        for (offset, byte) in key.enumerated() where text[range.lowerBound + offset] != byte { return false }
        return true
    }

    /// "0100007F:FF98": the kernel prints the address as the 32-bit word it stores (network order, printed
    /// in host order) and the port in host order, both as upper-case hex.
    static func key(_ address: SocketAddress) -> String {
        let word = address.addressBytes.withUnsafeBytes { $0.loadUnaligned(as: UInt32.self) }
        return hex(word, digits: 8) + ":" + hex(UInt32(address.port), digits: 4)
    }

    /// The tcp6 form: four such words, IPv4 written as ::ffff:a.b.c.d.
    static func key6(_ address: SocketAddress) -> String {
        let bytes =
            address.isIPv6
            ? address.addressBytes : [UInt8](repeating: 0, count: 10) + [0xFF, 0xFF] + address.addressBytes
        var text = ""
        bytes.withUnsafeBytes { raw in
            for word in 0..<4 { text += hex(raw.loadUnaligned(fromByteOffset: word * 4, as: UInt32.self), digits: 8) }
        }
        return text + ":" + hex(UInt32(address.port), digits: 4)
    }

    private static func hex(_ value: UInt32, digits: Int) -> String {
        let text = String(value, radix: 16, uppercase: true)
        return String(repeating: "0", count: max(0, digits - text.count)) + text
    }
}
