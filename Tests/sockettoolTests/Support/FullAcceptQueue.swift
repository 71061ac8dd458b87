// FullAcceptQueue.swift -- a loopback port where a connect can only time out, without a packet leaving
// this machine: the resilience deadlines and probe's "timed out" use it.
import Glibc
import SocketCore

/// A listener with backlog 0 that never accepts, and connections that fill its queue: further SYNs are
/// dropped, so a connect to it can only time out. Full is what ss says (Recv-Q past Send-Q, the backlog),
/// not a handshake that seemed slow.
final class FullAcceptQueue {
    private(set) var port: UInt16 = 0
    private let listener: Socket
    private var fillers: [Socket] = []

    init() throws {
        listener = try Socket(family: AF_INET)
        do {
            try listener.bind(to: SocketAddress(ipv4: "127.0.0.1", port: 0)!)
            try listener.listen(backlog: 0)
            port = try listener.localAddress().port
            // Fill with completed handshakes until the kernel counts the queue as full.
            let address = SocketAddress(ipv4: "127.0.0.1", port: port)!
            while let queue = try ResilienceSockets.listenQueue(port: port), queue.waiting <= queue.backlog {
                guard fillers.count < 16 else {
                    throw LoopbackFailure("the accept queue never filled (\(fillers.count) connections: \(queue))")
                }
                let socket = try Socket(family: AF_INET)
                fillers.append(socket)
                if try socket.connect(to: address) == .inProgress {
                    guard try socket.wait(for: .writable, timeout: TestDeadline.generous) == .ready else {
                        throw LoopbackFailure("a handshake to a queue with room did not complete")
                    }
                }
            }
        } catch {
            close()
            throw error
        }
    }

    func close() {
        for socket in fillers { socket.close() }
        listener.close()
    }
}
