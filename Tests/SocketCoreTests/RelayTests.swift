// RelayTests.swift -- the relay in-process, on both backends and both transports: every close order
// (stdin first, the peer first, both at once, the peer closing fully or resetting), stdin as a pipe, a
// file and /dev/null, stdout as a pipe, a file and a pipe nobody reads, --no-shutdown, --send-only,
// --recv-only, the idle timeout and -x. Byte counts and contents are checked on every side.
import Foundation
import Glibc
import SocketCore
import Testing

private let backendsAndTransports: [(SelectorKind, RelayTransport)] = SelectorKind.allCases.flatMap { kind in
    RelayTransport.allCases.map { (kind, $0) }
}

@Suite("Relay: lossless both ways, whoever closes first")
struct RelayTests {
    @Test("stdin ends first: FIN, then the peer's reply to the end", arguments: backendsAndTransports)
    func inputEndsFirst(backend: SelectorKind, transport: RelayTransport) throws {
        let request = relayPayload(3_000_000, seed: 1)
        let reply = relayPayload(2_000_000, seed: 2)
        let received = Box<[UInt8]>([])
        let outcome = try runRelay(transport: transport, backend: backend, input: .pipe(request)) { end in
            let peer = end.descriptor
            // Reads to our FIN first: the reply goes out only after all of stdin arrived.
            received.value = RawIO.readAll(peer)
            RawIO.writeAll(peer, reply)
            shutdown(peer, CInt(SHUT_WR))
        }
        #expect(outcome.error == nil, "\(outcome.error.map { "\($0)" } ?? "")")
        #expect(received.value == request)
        #expect(outcome.stdout == reply)
        #expect(outcome.summary?.bytesSent == request.count)
        #expect(outcome.summary?.bytesReceived == reply.count)
    }

    @Test("the peer closes first: stdin is still sent whole", arguments: backendsAndTransports)
    func peerClosesFirst(backend: SelectorKind, transport: RelayTransport) throws {
        // The usual way to receive a file (`ncat -l </dev/null >out`): the receiver's FIN comes at once.
        let file = relayPayload(5_000_000, seed: 3)
        let received = Box<[UInt8]>([])
        let outcome = try runRelay(transport: transport, backend: backend, input: .pipe(file)) { end in
            let peer = end.descriptor
            shutdown(peer, CInt(SHUT_WR))
            received.value = RawIO.readAll(peer)
        }
        #expect(outcome.error == nil, "\(outcome.error.map { "\($0)" } ?? "")")
        #expect(received.value == file)
        #expect(outcome.stdout.isEmpty)
        #expect(outcome.summary?.bytesSent == file.count)
    }

    @Test("both directions at once, megabytes each way: no deadlock, nothing lost", arguments: backendsAndTransports)
    func bothWaysAtOnce(backend: SelectorKind, transport: RelayTransport) throws {
        let up = relayPayload(6_000_000, seed: 4)
        let down = relayPayload(6_000_000, seed: 5)
        let received = Box<[UInt8]>([])
        let outcome = try runRelay(transport: transport, backend: backend, input: .pipe(up)) { end in
            let peer = end.descriptor
            // The peer writes while it reads, as a real peer with two threads would.
            let writer = TestThread {
                RawIO.writeAll(peer, down)
                shutdown(peer, CInt(SHUT_WR))
            }
            received.value = RawIO.readAll(peer)
            writer.join()
        }
        #expect(outcome.error == nil, "\(outcome.error.map { "\($0)" } ?? "")")
        #expect(received.value == up)
        #expect(outcome.stdout == down)
    }

    @Test("stdin from a regular file, stdout to a regular file", arguments: backendsAndTransports)
    func regularFiles(backend: SelectorKind, transport: RelayTransport) throws {
        // epoll refuses regular files (EPERM): the relay must move them without waiting on them.
        let file = relayPayload(4_000_000, seed: 6)
        let reply = relayPayload(1_500_000, seed: 7)
        let received = Box<[UInt8]>([])
        let outcome = try runRelay(transport: transport, backend: backend, input: .file(file), output: .file) { end in
            let peer = end.descriptor
            received.value = RawIO.readAll(peer)
            RawIO.writeAll(peer, reply)
            shutdown(peer, CInt(SHUT_WR))
        }
        #expect(outcome.error == nil, "\(outcome.error.map { "\($0)" } ?? "")")
        #expect(received.value == file)
        #expect(outcome.stdout == reply)
    }

    @Test("stdin is /dev/null: FIN at once, and the peer's bytes to the end", arguments: backendsAndTransports)
    func devNullInput(backend: SelectorKind, transport: RelayTransport) throws {
        let reply = relayPayload(2_500_000, seed: 8)
        let sawEndFirst = Box(false)
        let outcome = try runRelay(transport: transport, backend: backend, input: .devNull) { end in
            let peer = end.descriptor
            sawEndFirst.value = RawIO.readAll(peer).isEmpty
            RawIO.writeAll(peer, reply)
            shutdown(peer, CInt(SHUT_WR))
        }
        #expect(outcome.error == nil, "\(outcome.error.map { "\($0)" } ?? "")")
        #expect(sawEndFirst.value)
        #expect(outcome.stdout == reply)
        #expect(outcome.summary?.bytesSent == 0)
    }

    @Test("the peer closes fully while stdin still sends: a failure that counts what was not sent")
    func peerClosesFullyWhileSending() throws {
        for backend in SelectorKind.allCases {
            // A regular file, so the count of bytes never read is known too.
            let file = relayPayload(20_000_000, seed: 9)
            let outcome = try runRelay(transport: .tcp, backend: backend, input: .file(file)) { end in
                let peer = end.descriptor
                _ = RawIO.readExactly(peer, 100_000)
                // Closing with unread bytes: the kernel answers with a reset.
                end.close()
            }
            let failure = try #require(outcome.error as? RelayFailure, "\(String(describing: outcome.error))")
            guard case .connection(let cause) = failure.cause else {
                Issue.record("not a connection failure: \(failure)")
                continue
            }
            #expect([Errno.brokenPipe, .connectionReset].contains(cause.errno), "\(cause)")
            let unsent = try #require(failure.unsentBytes)
            let unread = try #require(failure.unreadBytes)
            // The peer took 100,000 bytes and the kernels hold a few MB at most: most of the file never left.
            #expect(unsent + unread > 0 && unsent + unread <= file.count - 100_000)
            #expect(unsent <= RelayOptions.defaultBufferSize)
            #expect("\(failure)".contains("of stdin not sent"), "\(failure)")
        }
    }

    @Test("a reset from the peer ends the relay with the error", arguments: SelectorKind.allCases)
    func peerResets(backend: SelectorKind) throws {
        let outcome = try runRelay(transport: .tcp, backend: backend, input: .openPipe([])) { end in
            let peer = end.descriptor
            var linger = Glibc.linger(l_onoff: 1, l_linger: 0)
            setsockopt(peer, SOL_SOCKET, SO_LINGER, &linger, socklen_t(MemoryLayout<Glibc.linger>.size))
            RawIO.writeAll(peer, Array("partial reply".utf8))
            // SO_LINGER 0: close sends RST.
            end.close()
        }
        // Either the reply then the reset, or the reset alone; never a clean end.
        let failure = try #require(outcome.error as? RelayFailure, "\(String(describing: outcome.error))")
        guard case .connection(let cause) = failure.cause else {
            Issue.record("not a connection failure: \(failure)")
            return
        }
        #expect(cause.errno == .connectionReset || cause.errno == .brokenPipe, "\(cause)")
        #expect(outcome.stdout.isEmpty || outcome.stdout == Array("partial reply".utf8))
    }

    @Test("stdout nobody reads: a local output error, not the peer's", arguments: SelectorKind.allCases)
    func stdoutBroken(backend: SelectorKind) throws {
        let outcome = try runRelay(transport: .socketpair, backend: backend, input: .devNull, output: .brokenPipe) {
            end in
            let peer = end.descriptor
            RawIO.writeAll(peer, Array("hello".utf8))
            shutdown(peer, CInt(SHUT_WR))
            _ = RawIO.readAll(peer)
        }
        let failure = try #require(outcome.error as? LocalIOError, "\(String(describing: outcome.error))")
        #expect(failure.direction == .output)
        #expect(failure.errno == .brokenPipe)
        #expect(failure.description == "cannot write stdout: Broken pipe (EPIPE)")
    }

    @Test("--no-shutdown: stdin's end sends no FIN; the peer's FIN ends the relay", arguments: backendsAndTransports)
    func noShutdown(backend: SelectorKind, transport: RelayTransport) throws {
        let request = relayPayload(200_000, seed: 10)
        let inputEnded = DispatchSemaphore(value: 0)
        let endSeenEarly = Box(true)
        let received = Box<[UInt8]>([])
        let outcome = try runRelay(
            transport: transport,
            backend: backend,
            input: .pipe(request),
            options: RelayOptions(shutdownWhenInputEnds: false),
            onLine: { if $0.hasPrefix("stdin ended") { inputEnded.signal() } },
            peer: { end in
                let peer = end.descriptor
                received.value = RawIO.readExactly(peer, request.count)
                // Once the relay has seen stdin's end, a FIN would already be here.
                _ = inputEnded.wait(timeout: .now() + 30)
                endSeenEarly.value = RawIO.endOfStreamWaiting(peer)
                RawIO.writeAll(peer, Array("bye".utf8))
                shutdown(peer, CInt(SHUT_WR))
            }
        )
        #expect(outcome.error == nil, "\(outcome.error.map { "\($0)" } ?? "")")
        #expect(received.value == request)
        #expect(!endSeenEarly.value, "a FIN was sent despite --no-shutdown")
        #expect(outcome.stdout == Array("bye".utf8))
    }

    @Test("--recv-only: stdin is never read; the peer's FIN ends it", arguments: backendsAndTransports)
    func receiveOnly(backend: SelectorKind, transport: RelayTransport) throws {
        let reply = relayPayload(3_000_000, seed: 11)
        let endBeforeOurs = Box(true)
        let outcome = try runRelay(
            transport: transport,
            backend: backend,
            input: .openPipe(Array("not for the peer".utf8)),
            options: RelayOptions(direction: .receiveOnly)
        ) { end in
            let peer = end.descriptor
            RawIO.writeAll(peer, reply)
            // No FIN from the relay before ours: it only listens.
            endBeforeOurs.value = RawIO.endOfStreamWaiting(peer)
            shutdown(peer, CInt(SHUT_WR))
            #expect(RawIO.readAll(peer).isEmpty)
        }
        #expect(outcome.error == nil, "\(outcome.error.map { "\($0)" } ?? "")")
        #expect(!endBeforeOurs.value)
        #expect(outcome.stdout == reply)
        #expect(outcome.leftInInput == Array("not for the peer".utf8))
        #expect(outcome.summary?.bytesSent == 0)
    }

    @Test("--send-only: the peer's bytes are read and dropped; stdin arrives whole", arguments: backendsAndTransports)
    func sendOnly(backend: SelectorKind, transport: RelayTransport) throws {
        let file = relayPayload(3_000_000, seed: 12)
        let noise = relayPayload(1_000_000, seed: 13)
        let received = Box<[UInt8]>([])
        let outcome = try runRelay(
            transport: transport,
            backend: backend,
            input: .pipe(file),
            options: RelayOptions(direction: .sendOnly)
        ) { end in
            let peer = end.descriptor
            let writer = TestThread {
                RawIO.writeAll(peer, noise)
                shutdown(peer, CInt(SHUT_WR))
            }
            received.value = RawIO.readAll(peer)
            writer.join()
        }
        #expect(outcome.error == nil, "\(outcome.error.map { "\($0)" } ?? "")")
        #expect(received.value == file)
        #expect(outcome.stdout.isEmpty)
        #expect(outcome.summary?.bytesReceived == noise.count)
    }

    @Test("--timeout: a peer that never reads ends the relay as timed out, with what was not sent")
    func idlePeerNotReading() throws {
        for backend in SelectorKind.allCases {
            let file = relayPayload(30_000_000, seed: 14)
            let outcome = try runRelay(
                transport: .tcp,
                backend: backend,
                input: .file(file),
                options: RelayOptions(idleTimeout: .milliseconds(300))
            ) { end in
                // Never reads, with a small receive buffer (no autotuning to tens of MB): the relay's sends
                // fill both kernels' buffers and stop.
                var size: CInt = 65536
                setsockopt(end.descriptor, SOL_SOCKET, SO_RCVBUF, &size, socklen_t(MemoryLayout<CInt>.size))
                end.waitForRelayToEnd()
            }
            let failure = try #require(outcome.error as? RelayFailure, "\(String(describing: outcome.error))")
            #expect(failure.cause == .idle(seconds: 0.3, sending: true))
            #expect("\(failure)".hasPrefix("room to send (the server is not reading) from peer timed out"))
            #expect((failure.unsentBytes ?? 0) + (failure.unreadBytes ?? 0) > 0)
        }
    }

    @Test("no idle limit unless one is asked for")
    func noTimeoutByDefault() {
        #expect(RelayOptions().idleTimeout == nil)
    }

    @Test("-x: each chunk dumped with its direction, size and stream offset")
    func hexDumpOfEachChunk() throws {
        let outcome = try runRelay(
            transport: .socketpair,
            backend: .poll,
            input: .pipe(Array("Hello, world\n".utf8)),
            hexDump: true
        ) { end in
            let peer = end.descriptor
            #expect(RawIO.readAll(peer) == Array("Hello, world\n".utf8))
            RawIO.writeAll(peer, Array("OK\n".utf8))
            shutdown(peer, CInt(SHUT_WR))
        }
        #expect(outcome.error == nil)
        let text = outcome.log.joined(separator: "\n")
        #expect(
            text.contains(
                """
                > sent 13 bytes to peer
                00000000  48 65 6c 6c 6f 2c 20 77  6f 72 6c 64 0a           |Hello, world.|
                """
            ),
            "\(text)"
        )
        #expect(
            text.contains(
                """
                < received 3 bytes from peer
                00000000  4f 4b 0a                                          |OK.|
                """
            ),
            "\(text)"
        )
    }
}
