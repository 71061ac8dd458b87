// SocketInventory.swift -- `sockettool sockets`: the kernel's socket tables (sock_diag) joined with the
// processes that hold each socket (/proc/PID/fd), filtered and sorted for one table.

/// Which sockets to list.
public struct SocketQuery: Sendable, Equatable {
    /// The tables to read (all five by default).
    public var tables: [SockDiag.Table] = SockDiag.Table.allCases
    /// Only sockets with this local or foreign port.
    public var port: UInt16?
    /// Only sockets held by this process.
    public var pid: Int32?
    /// Only listeners (and unconnected datagram sockets), like `ss -l`.
    public var listeningOnly = false
    /// Only these states (TCP state numbers).
    public var states: Set<UInt8>?
    /// Also read TCP_INFO per TCP connection (`ss -ti`).
    public var tcpInfo = false

    public init() {}

    /// True when `socket` passes every filter that does not need its owners.
    public func admits(_ socket: KernelSocket) -> Bool {
        if let port, socket.localPort != port && socket.foreignPort != port { return false }
        if listeningOnly && !socket.isListening { return false }
        if let states, !states.contains(socket.state) { return false }
        return true
    }
}

/// One line of the table: a socket and whoever holds it (nobody, for TIME_WAIT).
public struct SocketRow: Sendable, Equatable {
    public var socket: KernelSocket
    public var owners: [SocketOwner]

    public init(socket: KernelSocket, owners: [SocketOwner]) {
        self.socket = socket
        self.owners = owners
    }
}

/// The sockets of this machine's network namespace.
public enum SocketInventory {
    /// What a collection found.
    public struct Snapshot: Sendable {
        public var rows: [SocketRow]
        /// Tables the kernel would not dump (e.g. no udp_diag module), with why.
        public var unavailable: [(table: SockDiag.Table, error: SystemError)]
    }

    /// Reads the tables, filters, joins the owners and sorts: TCP, UDP, then Unix; IPv4 before IPv6;
    /// listeners first; then by local port and foreign address.
    ///
    /// - Throws: `SystemError` when no netlink socket can be opened or a reply does not come in `timeout`.
    public static func collect(_ query: SocketQuery, timeout: Duration = .seconds(5)) throws(SystemError) -> Snapshot {
        let netlink = try Socket.sockDiag()
        defer { netlink.close() }
        var sockets: [KernelSocket] = []
        var unavailable: [(table: SockDiag.Table, error: SystemError)] = []
        for (index, table) in query.tables.enumerated() {
            do {
                sockets += try dump(table, tcpInfo: query.tcpInfo, on: netlink, sequence: UInt32(index + 1), timeout)
            } catch  where error.errno != .timedOut {
                unavailable.append((table, error))
            }
        }
        resolveUnixPeers(&sockets)
        sockets = sockets.filter(query.admits)
        let owners = SocketOwners.find(Set(sockets.map(\.inode).filter { $0 != 0 }), pid: query.pid)
        var rows = sockets.map { SocketRow(socket: $0, owners: owners[$0.inode] ?? []) }
        if query.pid != nil { rows = rows.filter { !$0.owners.isEmpty } }
        rows.sort(by: ordered)
        return Snapshot(rows: rows, unavailable: unavailable)
    }

    /// One table's dump: the request, then datagrams until NLMSG_DONE.
    static func dump(
        _ table: SockDiag.Table,
        tcpInfo: Bool,
        on netlink: Socket,
        sequence: UInt32,
        _ timeout: Duration
    ) throws(SystemError) -> [KernelSocket] {
        let request = SockDiag.request(table, tcpInfo: tcpInfo, sequence: sequence)
        let written = request.withUnsafeBytes { raw in
            Result { () throws(SystemError) in try netlink.writeAll(raw, timeout: timeout) }
        }
        if try written.get() != .ready { throw SystemError(errno: .timedOut, call: "send(sock_diag)") }
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: 64 * 1024, alignment: 8)
        defer { buffer.deallocate() }
        var sockets: [KernelSocket] = []
        while true {
            switch try netlink.read(into: buffer) {
            case .wouldBlock:
                if try netlink.wait(for: .readable, timeout: timeout) != .ready {
                    throw SystemError(errno: .timedOut, call: "recv(sock_diag)")
                }
            case .processed(let count):
                let reply = SockDiag.parse(Array(buffer.prefix(count))[...], table: table, sequence: sequence)
                sockets += reply.sockets
                if let code = reply.errorNumber {
                    throw SystemError(errno: Errno(rawValue: code), call: "sock_diag", detail: "\(table)")
                }
                if reply.isDone || count == 0 { return sockets }
            }
        }
    }

    /// A Unix socket's foreign address is its peer's name ("*" when the peer has none).
    static func resolveUnixPeers(_ sockets: inout [KernelSocket]) {
        var names: [UInt64: String] = [:]
        for socket in sockets where socket.kind.isUnix { names[socket.inode] = socket.local }
        for index in sockets.indices where sockets[index].kind.isUnix {
            if let peer = sockets[index].peerInode, peer != 0 { sockets[index].foreign = names[UInt64(peer)] ?? "*" }
        }
    }

    private static func ordered(_ a: SocketRow, _ b: SocketRow) -> Bool {
        let x = a.socket
        let y = b.socket
        let kinds = KernelSocket.Kind.allCases
        let kindX = kinds.firstIndex(of: x.kind)!
        let kindY = kinds.firstIndex(of: y.kind)!
        if kindX != kindY { return kindX < kindY }
        if x.isIPv6 != y.isIPv6 { return !x.isIPv6 }
        if x.isListening != y.isListening { return x.isListening }
        if x.localPort != y.localPort { return (x.localPort ?? 0) < (y.localPort ?? 0) }
        if x.local != y.local { return x.local < y.local }
        if x.foreignPort != y.foreignPort { return (x.foreignPort ?? 0) < (y.foreignPort ?? 0) }
        return x.inode < y.inode
    }
}
