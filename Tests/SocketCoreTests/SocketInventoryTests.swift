// SocketInventoryTests.swift -- the `sockets` core in-process: sock_diag's view of this process's own
// sockets against what the sockets themselves report (ioctl queues, getsockopt TCP_INFO, descriptors),
// and the pure parts (address text, netlink framing, reply parsing) on golden and hostile bytes.
import Foundation
import Glibc
import Testing

@testable import SocketCore

@Suite struct SocketInventoryTests {
    @Test("this process's listener and connection: queues, owner and TCP_INFO as the sockets say")
    func ownSocketsAsTheyReportThemselves() throws {
        let listener = try Socket(family: AF_INET)
        defer { listener.close() }
        try listener.bind(to: SocketAddress(ipv4: "127.0.0.1", port: 0)!)
        try listener.listen(backlog: 3)
        let address = try listener.localAddress()
        let client = try Socket(family: AF_INET)
        defer { client.close() }
        if try client.connect(to: address) == .inProgress {
            #expect(try client.wait(for: .writable, timeout: .seconds(5)) == .ready)
            try client.finishConnect(to: address)
        }
        var accepted: Socket?
        for _ in 0..<500 where accepted == nil {
            _ = try listener.wait(for: .readable, timeout: .seconds(5))
            accepted = try listener.accept()?.socket
        }
        let server = try #require(accepted)
        defer { server.close() }
        let message = Array("Message 1 from client.".utf8)
        _ = try message.withUnsafeBytes { try client.writeAll($0, timeout: .seconds(5)) }
        #expect(try server.wait(for: .readable, timeout: .seconds(5)) == .ready)

        var query = SocketQuery()
        query.port = address.port
        query.tcpInfo = true
        query.tables = [.tcp4]
        // This test's three sockets only: the port may also be the foreign port of another process's
        // connection (a TIME_WAIT left from when the port was last some other listener's).
        let pairs = Set([
            "\(address) 0.0.0.0:*",
            "\(try client.localAddress()) \(address)",
            "\(address) \(try client.localAddress())",
        ])
        let rows = try SocketInventory.collect(query).rows.filter {
            pairs.contains("\($0.socket.local) \($0.socket.foreign)")
        }
        #expect(rows.count == 3, "\(rows.map(\.socket.local))")
        let listening = try #require(rows.first)
        #expect(listening.socket.isListening && listening.socket.sendQueue == 3 && listening.socket.receiveQueue == 0)
        #expect(listening.owners.map(\.pid) == [getpid()] && listening.owners.first?.descriptor == listener.descriptor)
        #expect(listening.owners.first?.access == "u")
        #expect(listening.owners.first?.user == ProcessTable.userName(of: getuid()) ?? String(getuid()))

        let serverRow = try #require(
            rows.first {
                $0.socket.local == (try? server.localAddress().description)
                    && $0.socket.foreign == (try? server.peerAddress().description)
            }
        )
        #expect(Int(serverRow.socket.receiveQueue) == (try server.inputQueueBytes()))
        #expect(serverRow.socket.receiveQueue == UInt32(message.count))
        #expect(serverRow.owners.first?.descriptor == server.descriptor)
        #expect(serverRow.socket.stateName == "ESTABLISHED")

        // One parser for both sources of TCP_INFO, and both agree with the shim's named fields.
        let clientRow = try #require(rows.first { $0.socket.local == (try? client.localAddress().description) })
        let viaNetlink = try #require(clientRow.socket.tcpInfo)
        let viaGetsockopt = try #require(KernelTCPInfo(bytes: try client.tcpInfoBytes()[...]))
        let named = try client.tcpInfo()
        #expect(viaNetlink.bytesAcked == viaGetsockopt.bytesAcked && viaGetsockopt.bytesAcked == named.bytesAcked)
        #expect(viaNetlink.sendMSS == named.sendMSS && viaNetlink.congestionWindow == named.congestionWindow)
        #expect(
            viaGetsockopt.state == named.state && viaGetsockopt.roundTripMicroseconds == named.roundTripMicroseconds
        )
        #expect(viaGetsockopt.peerWindow == named.peerWindow && viaGetsockopt.receiveSpace == named.receiveSpace)
        #expect(viaNetlink.bytesAcked >= UInt64(message.count) && viaNetlink.dataSegmentsOut >= 1)
        #expect(clientRow.socket.congestionControl?.isEmpty == false)
    }

    // MARK: - Pure parts

    @Test(
        "IPv6 text as inet_ntop writes it",
        arguments: [
            "::", "::1", "fe80::1", "2001:db8::8:800:200c:417a", "::ffff:127.0.0.1", "1:0:0:1::1", "1::",
            "2001:db8:0:0:1::",
            "::1.2.3.4", "1:2:3:4:5:6:7:8", "0:0:1::", "::ffff:0:1", "ff02::1:ff00:1",
        ]
    )
    func ipv6Text(_ text: String) throws {
        let address = try #require(SocketAddress(ipv6: text, port: 1))
        let bytes = withUnsafeBytes(of: address.storage) { raw in
            Array(
                raw[
                    MemoryLayout<sockaddr_in6>.offset(of: \.sin6_addr)!..<MemoryLayout<sockaddr_in6>.offset(
                        of: \.sin6_addr
                    )! + 16
                ]
            )
        }
        #expect(IPAddressText.ipv6(bytes[...]) == address.host)
    }

    @Test("seeded random IPv6 addresses, many with zero runs, print as inet_ntop prints them")
    func ipv6TextRandom() {
        var seed: UInt64 = 0x5EED
        for _ in 0..<2000 {
            var bytes = [UInt8](repeating: 0, count: 16)
            for word in 0..<8 {
                seed = seed &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
                if seed >> 62 != 0 { continue }  // three in four words stay zero
                bytes[2 * word] = UInt8(truncatingIfNeeded: seed >> 24)
                bytes[2 * word + 1] = UInt8(truncatingIfNeeded: seed >> 32)
            }
            var raw = in6_addr()
            withUnsafeMutableBytes(of: &raw) { $0.copyBytes(from: bytes) }
            var text = [CChar](repeating: 0, count: 64)
            inet_ntop(AF_INET6, &raw, &text, 64)
            let expected = String(decoding: text.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
            #expect(IPAddressText.ipv6(bytes[...]) == expected, "\(bytes)")
        }
    }

    @Test("a TCP dump request is the 72 bytes ss sends: nlmsghdr, then inet_diag_req_v2 for every state")
    func requestBytes() {
        let bytes = SockDiag.request(.tcp6, tcpInfo: true, sequence: 9)
        #expect(bytes.count == 16 + 56)
        #expect(Array(bytes[0..<4]) == [72, 0, 0, 0] && Array(bytes[4..<6]) == [20, 0])  // length, SOCK_DIAG_BY_FAMILY
        #expect(Array(bytes[6..<8]) == [0x01, 0x03])  // NLM_F_REQUEST | NLM_F_DUMP
        #expect(Array(bytes[16..<20]) == [10, 6, 0b1010, 0])  // AF_INET6, IPPROTO_TCP, INFO | CONG
        #expect(Array(bytes[20..<24]) == [0xFF, 0xFF, 0xFF, 0xFF])
    }

    @Test("a reply: one inet_diag_msg with TCP_INFO and a name, then NLMSG_DONE")
    func replyParsing() throws {
        var message: [UInt8] = [2, 1, 3, 0]  // AF_INET, ESTABLISHED, TIME_WAIT timer, retrans
        message += [0xFF, 0x98, 0xD3, 0xE2]  // ports 65432, 54242
        message +=
            [127, 0, 0, 1] + [UInt8](repeating: 0, count: 12) + [127, 0, 0, 1] + [UInt8](repeating: 0, count: 12)
        message += [UInt8](repeating: 0, count: 12)  // if, cookie
        for value: UInt32 in [30_000, 5, 7, 1000, 4711] { message.appendNative(value) }
        var info = [UInt8](repeating: 0, count: 232)
        info[0] = 1
        info[6] = 0xA7  // snd_wscale 7, rcv_wscale 10
        info.replaceSubrange(68..<72, with: [0x22, 0, 0, 0])  // rtt 34 us
        info.replaceSubrange(80..<84, with: [10, 0, 0, 0])  // cwnd
        message.appendNative(UInt16(4 + info.count))
        message.appendNative(UInt16(2))
        message += info
        message += [10, 0, 4, 0] + Array("cubic".utf8) + [0, 0, 0]  // INET_DIAG_CONG "cubic\0", padded
        var datagram = Netlink.request(type: 20, flags: 2, sequence: 4, payload: message)
        datagram += Netlink.request(type: 3, flags: 2, sequence: 4, payload: [0, 0, 0, 0])
        let reply = SockDiag.parse(datagram[...], table: .tcp4, sequence: 4)
        #expect(reply.isDone && reply.errorNumber == nil)
        let socket = try #require(reply.sockets.first)
        #expect(socket.local == "127.0.0.1:65432" && socket.foreign == "127.0.0.1:54242")
        #expect(socket.receiveQueue == 5 && socket.sendQueue == 7 && socket.uid == 1000 && socket.inode == 4711)
        #expect(socket.timer == .timeWait(milliseconds: 30_000))
        #expect(socket.tcpInfo?.roundTripMicroseconds == 34 && socket.tcpInfo?.congestionWindow == 10)
        #expect(socket.tcpInfo?.sendWindowScale == 7 && socket.tcpInfo?.receiveWindowScale == 10)
        #expect(socket.congestionControl == "cubic")
        // Another sequence number is someone else's reply.
        #expect(SockDiag.parse(datagram[...], table: .tcp4, sequence: 5).sockets.isEmpty)
    }

    @Test("an error reply carries the errno; truncated and garbage bytes yield nothing and never trap")
    func hostileReplies() {
        var error: [UInt8] = []
        error.appendNative(Int32(-2))
        let reply = SockDiag.parse(
            Netlink.request(type: 2, flags: 0, sequence: 1, payload: error)[...],
            table: .udp4,
            sequence: 1
        )
        #expect(reply.errorNumber == 2 && reply.isDone)
        var seed: UInt64 = 42
        for length in 0..<300 {
            var bytes = [UInt8](repeating: 0, count: length)
            for index in bytes.indices {
                seed = seed &* 6_364_136_223_846_793_005 &+ 1
                bytes[index] = UInt8(truncatingIfNeeded: seed >> 33)
            }
            if length >= 16 { bytes.replaceSubrange(0..<4, with: [UInt8(length & 0xFF), UInt8(length >> 8), 0, 0]) }
            _ = SockDiag.parse(bytes[...], table: .tcp4, sequence: 0)
            _ = SockDiag.parse(bytes[...], table: .unix, sequence: 0)
            _ = KernelTCPInfo(bytes: bytes[...])
        }
    }

    @Test("golden replies from a real kernel: a listener, a connection with 22 unread bytes, a Unix pair")
    func goldenReplies() throws {
        let corpus = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("Fuzz/corpus")
        let tcp = try [UInt8](Data(contentsOf: corpus.appendingPathComponent("netlink-tcp4-dump")))
        let reply = SockDiag.parse(tcp[...], table: .tcp4, sequence: 1)
        #expect(reply.isDone && reply.sockets.count == 3)
        let listener = try #require(reply.sockets.first { $0.state == SocketState.listen })
        #expect(listener.sendQueue == 1 && listener.foreign == "0.0.0.0:*" && listener.tcpInfo != nil)
        let unread = try #require(reply.sockets.first { $0.receiveQueue > 0 })
        #expect(unread.receiveQueue == 22 && unread.stateName == "ESTABLISHED" && unread.local == listener.local)
        #expect(reply.sockets.allSatisfy { $0.congestionControl?.isEmpty == false })
        let unix = try [UInt8](Data(contentsOf: corpus.appendingPathComponent("netlink-unix-dump")))
        let pair = SockDiag.parse(unix[...], table: .unix, sequence: 2).sockets
        #expect(pair.count == 2 && pair.allSatisfy { $0.kind == .unixStream && $0.local == "*" })
        #expect(Set(pair.compactMap(\.peerInode).map(UInt64.init)) == Set(pair.map(\.inode)))
    }

    @Test("state names: netstat's and ss's spellings, any case")
    func stateNames() {
        #expect(SocketState.number(named: "time-wait") == SocketState.timeWait)
        #expect(SocketState.number(named: "ESTAB") == SocketState.established)
        #expect(SocketState.number(named: "Close_Wait") == SocketState.closeWait)
        #expect(SocketState.number(named: "listen") == SocketState.listen)
        #expect(SocketState.number(named: "resting") == nil)
        // ss's names and the table's own (FIN_WAIT1) are all accepted.
        let ss: [(String, UInt8)] = [
            ("fin-wait-1", SocketState.finWait1), ("fin-wait-2", SocketState.finWait2),
            ("FIN_WAIT1", SocketState.finWait1), ("fin-wait1", SocketState.finWait1),
            ("listening", SocketState.listen), ("closed", SocketState.closed), ("close", SocketState.closed),
            ("established", SocketState.established), ("time-wait", SocketState.timeWait),
            ("close-wait", SocketState.closeWait), ("syn-sent", SocketState.synSent),
            ("syn-recv", SocketState.synReceived), ("last-ack", SocketState.lastAck),
            ("closing", SocketState.closing), ("SYN_RECV", SocketState.synReceived),
        ]
        for (name, state) in ss { #expect(SocketState.number(named: name) == state, "\(name)") }
    }
}
