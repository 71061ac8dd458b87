// DiscardServerTests.swift -- the discard server in-process: server and sender on one real reactor over
// loopback, both backends; and iperf3's units, checked against lines iperf3 3.12 printed.
import Glibc
import SocketCore
import Testing

/// A sender on the reactor: writes `total` bytes, half-closes, then waits for the server's FIN.
private final class Sender: SocketHandler {
    let socket: Socket
    private let chunk = [UInt8](repeating: 0x5A, count: 64 * 1024)
    private var left: Int
    private(set) var sawEndOfStream = false
    private(set) var bytesBack = 0

    init(socket: Socket, total: Int) {
        self.socket = socket
        left = total
    }

    func readable(in reactor: Reactor) {
        var buffer = [UInt8](repeating: 0, count: 4096)
        switch try? buffer.withUnsafeMutableBytes({ try socket.read(into: $0) }) {
        case .processed(0)?, nil:
            sawEndOfStream = true
            reactor.deregister(socket)
            socket.close()
        case .processed(let count)?: bytesBack += count
        case .wouldBlock?: break
        }
    }

    func writable(in reactor: Reactor) {
        while left > 0 {
            let size = min(left, chunk.count)
            guard
                case .processed(let written)? = try? chunk.withUnsafeBytes({ whole in
                    try socket.write(UnsafeRawBufferPointer(rebasing: whole[0..<size]))
                })
            else { return }
            left -= written
        }
        try? socket.shutdown(.write)
        reactor.setInterest(.readable, for: socket)
    }
}

@Suite("discard server, in-process")
struct DiscardServerTests {
    @Test(
        "a sender's bytes are counted to the byte, nothing comes back, both ends close (dropped in the kernel, or --copy)",
        arguments: SelectorKind.allCases,
        [false, true]
    )
    func countsWhatOneSenderSent(kind: SelectorKind, copy: Bool) throws {
        let reactor = try Reactor(kind: kind)
        var lines: [String] = []
        let log = EventLog(
            format: .json,
            output: OutputBuffer { lines.append($0) },
            diagnostics: OutputBuffer { lines.append($0) }
        )
        let address = try #require(SocketAddress(ipv4: "127.0.0.1", port: 0))
        let server = try ConnectionServer.discard(
            reactor: reactor,
            options: ServerOptions(address: address, maxConnections: 8),
            discard: DiscardOptions(copy: copy),
            log: log
        )
        try server.start()
        let total = 5 << 20 | 321
        let (socket, _) = try Socket.connecting(to: server.address)
        let sender = Sender(socket: socket, total: total)
        try reactor.register(socket, interest: .writable, handler: sender)
        // Stop once the server saw the connection come and go and the sender saw the server's FIN.
        reactor.addBeforeSleepHook { [unowned reactor] in
            if sender.sawEndOfStream && server.acceptedCount == 1 && server.openConnectionCount == 0 { reactor.stop() }
        }
        var timedOut = false
        reactor.schedule(after: .seconds(30)) { reactor in
            timedOut = true
            reactor.stop()
        }
        try reactor.run()
        server.closeAll()
        if socket.isOpen { socket.close() }
        #expect(!timedOut, "the exchange did not finish")
        #expect(sender.bytesBack == 0)
        let totals = try #require(lines.first { $0.contains("\"totals\"") }, "\(lines)")
        #expect(totals.contains("\"bytes\": \(total),"), "\(totals)")
    }

    @Test("Socket.discard: TCP drops the bytes in the kernel (counted, never copied out); a Unix socket copies them")
    func discardDropsInTheKernelOnTCP() throws {
        for transport in [RelayTransport.tcp, .socketpair] {
            let (socket, peer) = try connectedPair(transport)
            defer {
                socket.close()
                Glibc.close(peer)
            }
            let sent = [UInt8](repeating: 0x41, count: 3000)
            #expect(sent.withUnsafeBytes { Glibc.write(peer, $0.baseAddress, $0.count) } == sent.count)
            #expect(Glibc.shutdown(peer, CInt(SHUT_WR)) == 0)
            var buffer = [UInt8](repeating: 0, count: 1024)
            var dropped = 0
            readToEnd: while true {
                #expect(try socket.wait(for: .readable, timeout: .seconds(10)) == .ready)
                while case .processed(let count) = try buffer.withUnsafeMutableBytes({ try socket.discard(upTo: $0) }) {
                    if count == 0 { break readToEnd }
                    #expect(count <= buffer.count, "\(transport): more than asked for")
                    dropped += count
                }
            }
            #expect(dropped == sent.count, "\(transport)")
            let copiedOut = buffer.contains(0x41)
            #expect(
                copiedOut == (transport == .socketpair),
                "\(transport): the buffer was \(copiedOut ? "" : "not ")written"
            )
        }
    }

    @Test("iperf3's units: bytes in powers of 1024, bits in powers of 1000, four places")
    func iperfUnits() {
        #expect(ThroughputFormat.bytes(716 << 20) == " 716 MBytes")
        #expect(ThroughputFormat.bytes(785_408) == " 767 KBytes")
        #expect(ThroughputFormat.bytes(1_481_763_717) == "1.38 GBytes")
        #expect(ThroughputFormat.bytes(2_621_440) == "2.50 MBytes")
        #expect(ThroughputFormat.bytes(0) == "0.00 Bytes")
        #expect(ThroughputFormat.bytes(1000) == "1000 Bytes")
        #expect(ThroughputFormat.bitRate(6.01e9) == "6.01 Gbits/sec")
        #expect(ThroughputFormat.bitRate(11.9e9) == "11.9 Gbits/sec")
        #expect(ThroughputFormat.bitRate(210e3) == " 210 Kbits/sec")
        #expect(ThroughputFormat.bitsPerSecond(bytes: 125_000_000, nanoseconds: 1_000_000_000) == 1e9)
        #expect(ThroughputFormat.bitsPerSecond(bytes: 5, nanoseconds: 0) == 0)
    }
}
