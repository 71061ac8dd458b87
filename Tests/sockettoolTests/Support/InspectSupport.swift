// InspectSupport.swift -- what the `sockets` and `trace` tests compare against: the real ss, lsof and
// tshark, found on PATH and parsed, and sockets in known states built by the test itself.
import Foundation
import Glibc
import SocketCore

/// The absolute path of an installed program, or nil (the test that needs it is then skipped, saying so).
func installedTool(_ name: String) -> String? {
    let path = ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin"
    for directory in path.split(separator: ":").map(String.init) + ["/usr/sbin", "/sbin"] {
        let candidate = "\(directory)/\(name)"
        if FileManager.default.isExecutableFile(atPath: candidate) { return candidate }
    }
    return nil
}

/// True when this machine has ::1 (some containers have no IPv6 at all).
func hasIPv6LoopbackAddress() -> Bool {
    guard let socket = try? Socket(family: AF_INET6) else { return false }
    defer { socket.close() }
    return (try? socket.bind(to: SocketAddress(ipv6: "::1", port: 0)!)) != nil
}

/// One line of `ss -Hna...`: state, queues, addresses, and the `key:value` words of -i on the next line.
struct SSRow: Equatable, CustomStringConvertible {
    var state: String
    var receiveQueue: Int
    var sendQueue: Int
    var local: String
    var peer: String
    var info: [String: String] = [:]

    var description: String { "\(state) \(receiveQueue) \(sendQueue) \(local) \(peer)" }

    /// netstat's name for ss's state word (ss writes ESTAB, TIME-WAIT, UNCONN).
    var netstatState: String {
        switch state {
        case "ESTAB": "ESTABLISHED"
        case "UNCONN": "UNCONN"
        default: state.replacingOccurrences(of: "-", with: "_")
        }
    }
}

enum SS {
    /// `ss -Hn` + `arguments`: one row per socket; with -i the info line's words go into `info`.
    /// For -x, "Netid" comes first and the addresses are "path inode"; `unixColumns` handles that.
    static func rows(_ arguments: [String], unixColumns: Bool = false) throws -> [SSRow] {
        let result = try ChildProcess.run("ss", ["-Hn"] + arguments, timeout: .seconds(10))
        guard result.status == 0 else { throw LoopbackFailure("ss \(arguments) failed: \(result.stderr)") }
        var rows: [SSRow] = []
        for line in result.stdout.split(separator: "\n") {
            let words = line.split(separator: " ").map(String.init)
            if line.hasPrefix(" ") || line.hasPrefix("\t") {
                // The -i line: "cubic wscale:10,10 rto:201 rtt:0.04/0.02 ... cwnd:10 ...".
                guard !rows.isEmpty else { continue }
                for word in words {
                    let parts = word.split(separator: ":", maxSplits: 1).map(String.init)
                    if parts.count == 2 { rows[rows.count - 1].info[parts[0]] = parts[1] }
                }
                continue
            }
            let offset = unixColumns ? 1 : 0
            guard words.count >= 5 + offset, let received = Int(words[1 + offset]), let sent = Int(words[2 + offset])
            else { continue }
            let local = unixColumns ? words[3 + offset] : words[3 + offset]
            let peer = unixColumns ? words[5 + offset] : words[4 + offset]
            rows.append(SSRow(state: words[offset], receiveQueue: received, sendQueue: sent, local: local, peer: peer))
        }
        return rows
    }
}

/// One socket descriptor as `lsof -F pcfaLn` reports it.
struct LsofRow: Equatable {
    var pid: Int32
    var command: String
    var descriptor: Int32
    var access: String
    var user: String
    /// "127.0.0.1:PORT" for a listener, "LOCAL->FOREIGN" for a connection.
    var name: String
}

enum Lsof {
    /// `lsof -nP -F pcfaLn` + `arguments`, one row per descriptor. lsof exits 1 when nothing matches.
    static func rows(_ arguments: [String]) throws -> [LsofRow] {
        let result = try ChildProcess.run("lsof", ["-nP", "-F", "pcfaLn"] + arguments, timeout: .seconds(30))
        guard result.status == 0 || result.status == 1 else {
            throw LoopbackFailure("lsof \(arguments) failed: \(result.stderr)")
        }
        var rows: [LsofRow] = []
        var pid: Int32 = 0
        var command = ""
        var user = ""
        var current: LsofRow?
        for line in result.stdout.split(separator: "\n") {
            guard let tag = line.first else { continue }
            let value = String(line.dropFirst())
            switch tag {
            case "p":
                if let row = current { rows.append(row) }
                current = nil
                pid = Int32(value) ?? 0
            case "c": command = value
            case "L": user = value
            case "f":
                if let row = current { rows.append(row) }
                current = LsofRow(
                    pid: pid,
                    command: command,
                    descriptor: Int32(value) ?? -1,
                    access: "",
                    user: user,
                    name: ""
                )
            case "a": current?.access = value
            case "n": current?.name = value
            default: continue
            }
        }
        if let row = current { rows.append(row) }
        return rows
    }
}

/// Sockets in states a test can predict, all on one port of 127.0.0.1: a listener (backlog 7) with two
/// connections waiting in its accept queue, and one accepted connection that the server never reads while
/// the client has sent until the kernel said EAGAIN, so both queues are full and stay still.
final class QueueScene {
    let listener: Socket
    let port: UInt16
    let server: Socket
    let client: Socket
    let waiting: [Socket]

    init(host: String = "127.0.0.1") throws {
        let address = SocketAddress(ipv4: host, port: 0) ?? SocketAddress(ipv6: host, port: 0)!
        let listener = try Socket(family: address.family)
        self.listener = listener
        // A small receive buffer (inherited by the accepted socket) fills quickly and holds a few KiB.
        try listener.setReceiveBufferSize(4096)
        try listener.bind(to: address)
        try listener.listen(backlog: 7)
        port = try listener.localAddress().port
        var target = address
        target.port = port
        let client = try Self.connected(to: target)
        self.client = client
        var accepted: Socket?
        _ = try eventually {
            accepted = try listener.accept()?.socket
            return accepted != nil
        }
        guard let accepted else { throw LoopbackFailure("no connection to accept on \(target)") }
        server = accepted
        waiting = [try Self.connected(to: target), try Self.connected(to: target)]
        let chunk = [UInt8](repeating: 0x61, count: 65536)
        var sent = 0
        while true {
            let result = try chunk.withUnsafeBytes { try client.write($0) }
            guard case .processed(let count) = result else { break }
            sent += count
        }
        guard sent > 0 else { throw LoopbackFailure("the client could not send at all") }
    }

    private static func connected(to address: SocketAddress) throws -> Socket {
        let socket = try Socket(family: address.family)
        if try socket.connect(to: address) == .inProgress {
            guard try socket.wait(for: .writable, timeout: .seconds(5)) == .ready else {
                socket.close()
                throw LoopbackFailure("connect to \(address) timed out")
            }
            try socket.finishConnect(to: address)
        }
        return socket
    }

    /// "LOCAL FOREIGN" of the scene's seven sockets: the listener, and both ends of each of the three
    /// connections. Another process may use the same port number (a client's local port, a UDP socket), so
    /// the tests compare these rows and ignore the rest.
    var pairs: Set<String> {
        var pairs: Set<String> = []
        if let listening = try? listener.localAddress() {
            pairs.insert("\(listening) \(listening.isIPv6 ? "[::]:*" : "0.0.0.0:*")")
        }
        for socket in [client] + waiting {
            guard let local = try? socket.localAddress(), let peer = try? socket.peerAddress() else { continue }
            pairs.insert("\(local) \(peer)")
            pairs.insert("\(peer) \(local)")
        }
        return pairs
    }

    /// ss's view of the scene's sockets, once two readings 100 ms apart agree (the last bytes in flight have
    /// landed).
    func settledSSRows(family: String = "-4") throws -> [SSRow] {
        let pairs = self.pairs
        let read = {
            try SS.rows(["-ta", family, "( sport = :\(self.port) or dport = :\(self.port) )"]).filter {
                pairs.contains("\($0.local) \($0.peer)")
            }
        }
        var previous = try read()
        for _ in 0..<50 {
            measuringPause(.milliseconds(100))
            let now = try read()
            if now == previous { return now }
            previous = now
        }
        throw LoopbackFailure("the queues on port \(port) never settled: \(previous)")
    }

    func close() {
        for socket in [client, server, listener] + waiting {
            try? socket.setLingerZero()
            socket.close()
        }
    }
}

/// A pause with poll(2) on nothing: between two readings of something that has no event to wait for.
func measuringPause(_ duration: Duration) {
    var none = pollfd(fd: -1, events: 0, revents: 0)
    _ = poll(
        &none,
        0,
        CInt(duration.components.seconds * 1000 + duration.components.attoseconds / 1_000_000_000_000_000)
    )
}
