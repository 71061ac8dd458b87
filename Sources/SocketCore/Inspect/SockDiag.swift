// SockDiag.swift -- the sock_diag protocol (linux/inet_diag.h, linux/unix_diag.h): the requests `ss`
// sends and the replies it reads, as pure functions, so they are tested and fuzzed without a kernel.

/// Requests for the kernel's socket tables and the parsing of its replies.
public enum SockDiag {
    /// SOCK_DIAG_BY_FAMILY: the message type of every request and reply.
    static let messageType: UInt16 = 20
    static let inetFamily: UInt8 = 2  // AF_INET
    static let inet6Family: UInt8 = 10  // AF_INET6
    static let unixFamily: UInt8 = 1  // AF_UNIX
    static let tcpProtocol: UInt8 = 6
    static let udpProtocol: UInt8 = 17

    /// One table to dump.
    public enum Table: Sendable, CaseIterable {
        case tcp4, tcp6, udp4, udp6, unix

        var kind: KernelSocket.Kind {
            switch self {
            case .tcp4, .tcp6: .tcp
            case .udp4, .udp6: .udp
            case .unix: .unixStream
            }
        }
    }

    /// A dump request for every socket of `table` in every state.
    ///
    /// - Parameter tcpInfo: Also ask for TCP_INFO and the congestion control name (`ss -ti`).
    public static func request(_ table: Table, tcpInfo: Bool, sequence: UInt32) -> [UInt8] {
        var payload: [UInt8] = []
        switch table {
        case .unix:
            // struct unix_diag_req: family, protocol, pad, states, ino, show, cookie[2].
            payload += [unixFamily, 0, 0, 0]
            payload.appendNative(UInt32.max)
            payload.appendNative(UInt32(0))
            // UDIAG_SHOW_NAME | UDIAG_SHOW_PEER | UDIAG_SHOW_RQLEN | UDIAG_SHOW_UID
            payload.appendNative(UInt32(0x01 | 0x04 | 0x10 | 0x40))
            payload += [UInt8](repeating: 0xFF, count: 8)  // INET_DIAG_NOCOOKIE
        case .tcp4, .tcp6, .udp4, .udp6:
            // struct inet_diag_req_v2: family, protocol, ext, pad, states, then a zero inet_diag_sockid
            // (every address) with INET_DIAG_NOCOOKIE.
            let family = table == .tcp4 || table == .udp4 ? inetFamily : inet6Family
            let proto = table.kind == .tcp ? tcpProtocol : udpProtocol
            // ext: 1 << (INET_DIAG_INFO - 1) | 1 << (INET_DIAG_CONG - 1)
            let extensions: UInt8 = tcpInfo && table.kind == .tcp ? (1 << 1) | (1 << 3) : 0
            payload += [family, proto, extensions, 0]
            payload.appendNative(UInt32.max)
            payload += [UInt8](repeating: 0, count: 40)
            payload += [UInt8](repeating: 0xFF, count: 8)
        }
        return Netlink.request(
            type: messageType,
            flags: Netlink.dumpRequestFlags,
            sequence: sequence,
            payload: payload
        )
    }

    /// What one reply datagram holds.
    public struct Reply: Sendable, Equatable {
        public var sockets: [KernelSocket] = []
        /// NLMSG_DONE arrived: the dump is complete.
        public var isDone = false
        /// An NLMSG_ERROR with this errno (positive) ended the dump.
        public var errorNumber: Int32?
    }

    /// Parses one datagram of a dump of `table`; messages of other sequence numbers are ignored.
    public static func parse(_ datagram: ArraySlice<UInt8>, table: Table, sequence: UInt32) -> Reply {
        var reply = Reply()
        for message in Netlink.messages(in: datagram) where message.sequence == sequence {
            switch message.type {
            case Netlink.doneType:
                reply.isDone = true
            case Netlink.errorType:
                let code = message.payload.native32(at: 0).map { Int32(bitPattern: $0) } ?? -1
                if code != 0 { reply.errorNumber = -code }
                reply.isDone = true
            case messageType:
                let socket = table == .unix ? unixSocket(message.payload) : inetSocket(message.payload, table: table)
                if let socket { reply.sockets.append(socket) }
            default:
                continue
            }
        }
        return reply
    }

    // MARK: - struct inet_diag_msg

    /// family, state, timer, retrans; sockid (sport, dport, src[16], dst[16], if, cookie[2]); expires,
    /// rqueue, wqueue, uid, inode: 72 bytes, then attributes.
    static func inetSocket(_ bytes: ArraySlice<UInt8>, table: Table) -> KernelSocket? {
        guard bytes.count >= 72, let family = bytes.byte(at: 0), family == inetFamily || family == inet6Family,
            let state = bytes.byte(at: 1), let timerKind = bytes.byte(at: 2),
            let localPort = bytes.bigEndian16(at: 4), let foreignPort = bytes.bigEndian16(at: 6),
            let source = bytes.bytes(at: 8, count: 16), let destination = bytes.bytes(at: 24, count: 16),
            let expires = bytes.native32(at: 52), let receiveQueue = bytes.native32(at: 56),
            let sendQueue = bytes.native32(at: 60), let uid = bytes.native32(at: 64),
            let inode = bytes.native32(at: 68)
        else { return nil }
        let isIPv6 = family == inet6Family
        let localHost = isIPv6 ? IPAddressText.ipv6(source) : IPAddressText.ipv4(source)
        let foreignHost = isIPv6 ? IPAddressText.ipv6(destination) : IPAddressText.ipv4(destination)
        var socket = KernelSocket(
            kind: table.kind,
            isIPv6: isIPv6,
            state: state,
            local: IPAddressText.endpoint(localHost, isIPv6: isIPv6, port: localPort),
            foreign: IPAddressText.endpoint(foreignHost, isIPv6: isIPv6, port: foreignPort == 0 ? nil : foreignPort),
            localPort: localPort,
            foreignPort: foreignPort == 0 ? nil : foreignPort,
            receiveQueue: receiveQueue,
            sendQueue: sendQueue,
            inode: UInt64(inode)
        )
        socket.uid = uid
        socket.timer = timer(kind: timerKind, milliseconds: expires)
        for attribute in Netlink.attributes(in: bytes.dropFirst(72)) {
            switch attribute.type {
            case 2: socket.tcpInfo = KernelTCPInfo(bytes: attribute.value)  // INET_DIAG_INFO
            case 4:  // INET_DIAG_CONG: a NUL-terminated name
                socket.congestionControl = String(decoding: attribute.value.prefix { $0 != 0 }, as: UTF8.self)
            case 8: socket.shutdown = attribute.value.byte(at: 0)  // INET_DIAG_SHUTDOWN
            default: continue
            }
        }
        return socket
    }

    private static func timer(kind: UInt8, milliseconds: UInt32) -> KernelSocket.Timer? {
        switch kind {
        case 1: .retransmit(milliseconds: milliseconds)
        case 2: .keepalive(milliseconds: milliseconds)
        case 3: .timeWait(milliseconds: milliseconds)
        case 4: .zeroWindowProbe(milliseconds: milliseconds)
        default: nil
        }
    }

    // MARK: - struct unix_diag_msg

    /// family, type, state, pad, ino, cookie[2]: 16 bytes, then attributes. The foreign address is the
    /// peer's inode until `SocketInventory` looks the peer's name up.
    static func unixSocket(_ bytes: ArraySlice<UInt8>) -> KernelSocket? {
        guard bytes.count >= 16, bytes.byte(at: 0) == unixFamily, let type = bytes.byte(at: 1),
            let state = bytes.byte(at: 2), let inode = bytes.native32(at: 4)
        else { return nil }
        let kind: KernelSocket.Kind
        switch type {
        case 1: kind = .unixStream  // SOCK_STREAM
        case 2: kind = .unixDatagram  // SOCK_DGRAM
        case 5: kind = .unixSeqpacket  // SOCK_SEQPACKET
        default: return nil
        }
        var socket = KernelSocket(
            kind: kind,
            isIPv6: false,
            state: state,
            local: "*",
            foreign: "*",
            inode: UInt64(inode)
        )
        for attribute in Netlink.attributes(in: bytes.dropFirst(16)) {
            switch attribute.type {
            case 0: socket.local = unixName(attribute.value)  // UNIX_DIAG_NAME
            case 2: socket.peerInode = attribute.value.native32(at: 0)  // UNIX_DIAG_PEER
            case 4:  // UNIX_DIAG_RQLEN: a listener's accept queue and backlog, else bytes queued
                socket.receiveQueue = attribute.value.native32(at: 0) ?? 0
                socket.sendQueue = attribute.value.native32(at: 4) ?? 0
            case 6: socket.shutdown = attribute.value.byte(at: 0)  // UNIX_DIAG_SHUTDOWN
            case 7: socket.uid = attribute.value.native32(at: 0)  // UNIX_DIAG_UID
            default: continue
            }
        }
        return socket
    }

    /// A path, or "@name" for the abstract namespace (a leading NUL), safe to print on a terminal.
    static func unixName(_ bytes: ArraySlice<UInt8>) -> String {
        if bytes.first == 0 {
            return "@" + ByteNotation.escapeForLog(String(decoding: bytes.dropFirst(), as: UTF8.self), limit: 108)
        }
        return ByteNotation.escapeForLog(String(decoding: bytes.prefix { $0 != 0 }, as: UTF8.self), limit: 108)
    }
}
