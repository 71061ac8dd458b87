// ReactorTests.swift -- the event loop on socketpairs: real descriptors, no ports, both backends.
import Foundation
import Glibc
import SocketCore
import Testing

/// Counts callbacks and runs an optional action in them.
private final class Probe: SocketHandler {
    var reads = 0
    var writes = 0
    var onReadable: (Reactor) -> Void = { _ in }
    var onWritable: (Reactor) -> Void = { _ in }
    func readable(in reactor: Reactor) {
        reads += 1
        onReadable(reactor)
    }
    func writable(in reactor: Reactor) {
        writes += 1
        onWritable(reactor)
    }
}

private func send(_ text: String, on socket: Socket) throws {
    _ = try Array(text.utf8).withUnsafeBytes { try socket.write($0) }
}

private func drain(_ socket: Socket) -> Int {
    let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: 4096, alignment: 1)
    defer { buffer.deallocate() }
    if case .processed(let count)? = try? socket.read(into: buffer) { return count }
    return -1
}

/// Runs the loop until it ends by itself, or fails the test after `limit` (a regression must fail, not hang).
private func runBounded(_ reactor: Reactor, limit: Duration = .seconds(5)) throws {
    var timedOut = false
    let guardTimer = reactor.schedule(after: limit) { reactor in
        timedOut = true
        reactor.stop()
    }
    // The guard timer alone must not keep the loop alive: cancel it once nothing else is registered.
    reactor.addBeforeSleepHook { [unowned reactor] in if reactor.registeredCount == 0 { reactor.cancel(guardTimer) } }
    try reactor.run()
    #expect(!timedOut, "the loop did not end within \(limit)")
}

/// Runs exactly one turn: a zero-delay timer stops the loop after the first dispatch.
private func runOneTurn(_ reactor: Reactor) throws {
    reactor.schedule(after: .zero) { $0.stop() }
    try reactor.run()
}

@Suite struct ReactorTests {
    @Test(arguments: SelectorKind.allCases)
    func readableFiresWhenDataArrives(kind: SelectorKind) throws {
        let reactor = try Reactor(kind: kind)
        let (a, b) = try Socket.pair()
        defer {
            a.close()
            b.close()
        }
        let probe = Probe()
        probe.onReadable = { reactor in
            #expect(drain(a) == 5)
            reactor.deregister(a)
        }
        try reactor.register(a, interest: .readable, handler: probe)
        try send("hello", on: b)
        try runBounded(reactor)  // ends by itself: nothing registered, no timers
        #expect(probe.reads == 1)
        #expect(probe.writes == 0)
    }

    @Test(arguments: SelectorKind.allCases)
    func writableOnlyWhileAskedFor(kind: SelectorKind) throws {
        let reactor = try Reactor(kind: kind)
        let (a, b) = try Socket.pair()
        defer {
            a.close()
            b.close()
        }
        let probe = Probe()
        probe.onWritable = { reactor in reactor.setInterest(.readable, for: a) }
        try reactor.register(a, interest: [.readable, .writable], handler: probe)
        reactor.schedule(after: .milliseconds(50)) { $0.stop() }
        try reactor.run()
        // A loop that kept write interest would have called writable() on every turn for 50 ms.
        #expect(probe.writes == 1)
        #expect(probe.reads == 0)
    }

    @Test(arguments: SelectorKind.allCases)
    func aHandlerMayCloseAnotherHandlersDescriptorMidTurn(kind: SelectorKind) throws {
        let reactor = try Reactor(kind: kind)
        let (a1, b1) = try Socket.pair()
        let (a2, b2) = try Socket.pair()
        defer {
            for socket in [a1, b1, a2, b2] { socket.close() }
        }
        let first = Probe()
        let second = Probe()
        // Whichever runs first closes the other; the other must then not run this turn.
        first.onReadable = { reactor in
            reactor.deregister(a2)
            a2.close()
        }
        second.onReadable = { reactor in
            reactor.deregister(a1)
            a1.close()
        }
        try reactor.register(a1, interest: .readable, handler: first)
        try reactor.register(a2, interest: .readable, handler: second)
        try send("x", on: b1)
        try send("y", on: b2)
        try runOneTurn(reactor)
        #expect(first.reads + second.reads == 1)
        #expect(reactor.registeredCount == 1)
    }

    @Test(arguments: SelectorKind.allCases)
    func aReusedDescriptorNumberDoesNotInheritStaleEvents(kind: SelectorKind) throws {
        let reactor = try Reactor(kind: kind)
        let (a1, b1) = try Socket.pair()
        let (a2, b2) = try Socket.pair()
        let (fresh, freshPeer) = try Socket.pair()
        defer {
            for socket in [a1, b1, a2, b2, fresh, freshPeer] { socket.close() }
        }
        let newcomer = Probe()
        let first = Probe()
        let second = Probe()
        /// Deregisters `victim` and puts a different open socket under the same descriptor number (dup2 does
        /// it atomically, so parallel tests cannot take the number in between), registered to `newcomer`.
        var replaced = false
        func replace(_ victim: Socket, in reactor: Reactor) {
            guard !replaced, reactor.interest(for: victim.descriptor) != nil else { return }
            replaced = true
            reactor.deregister(victim)
            #expect(dup2(fresh.descriptor, victim.descriptor) == victim.descriptor)
            try! reactor.register(victim, interest: .readable, handler: newcomer)
        }
        first.onReadable = { reactor in replace(a2, in: reactor) }
        second.onReadable = { reactor in replace(a1, in: reactor) }
        try reactor.register(a1, interest: .readable, handler: first)
        try reactor.register(a2, interest: .readable, handler: second)
        try send("x", on: b1)
        try send("y", on: b2)
        try send("z", on: freshPeer)  // the new socket is readable too, but only from the next turn on
        try runOneTurn(reactor)
        #expect(first.reads + second.reads == 1)
        // The event collected for the old socket under that number must not reach the new registration.
        #expect(newcomer.reads == 0)
        try runOneTurn(reactor)
        #expect(newcomer.reads == 1)
        reactor.deregister(a1)
        reactor.deregister(a2)
    }

    @Test(arguments: SelectorKind.allCases)
    func hangUpIsDeliveredAsReadable(kind: SelectorKind) throws {
        let reactor = try Reactor(kind: kind)
        let (a, b) = try Socket.pair()
        defer { a.close() }
        let probe = Probe()
        var sawEndOfStream = false
        probe.onReadable = { reactor in
            sawEndOfStream = drain(a) == 0
            reactor.deregister(a)
        }
        try reactor.register(a, interest: .readable, handler: probe)
        b.close()
        try runBounded(reactor)
        #expect(sawEndOfStream)
    }

    @Test(arguments: SelectorKind.allCases)
    func noInterestMeansNoWakeUpsEvenAfterHangUp(kind: SelectorKind) throws {
        let reactor = try Reactor(kind: kind)
        let (a, b) = try Socket.pair()
        defer { a.close() }
        let probe = Probe()
        try reactor.register(a, interest: .none, handler: probe)
        b.close()  // POLLHUP is reported even without POLLIN; a parked descriptor must not spin the loop
        reactor.schedule(after: .milliseconds(30)) { $0.stop() }
        try reactor.run()
        #expect(probe.reads == 0 && probe.writes == 0)
        reactor.deregister(a)
    }

    @Test func timersFireInDeadlineOrderAndCancelledOnesNever() throws {
        let reactor = try Reactor()
        var fired: [Int] = []
        reactor.schedule(after: .milliseconds(30)) { _ in fired.append(3) }
        reactor.schedule(after: .milliseconds(10)) { _ in fired.append(1) }
        let cancelled = reactor.schedule(after: .milliseconds(20)) { _ in fired.append(99) }
        reactor.schedule(after: .milliseconds(20)) { _ in fired.append(2) }
        reactor.cancel(cancelled)
        #expect(!cancelled.isScheduled)
        // A bound in case the timers never fire; the last one cancels it, so the loop ends by itself.
        var timedOut = false
        let bound = reactor.schedule(after: .seconds(30)) { reactor in
            timedOut = true
            reactor.stop()
        }
        reactor.schedule(after: .milliseconds(30)) { reactor in reactor.cancel(bound) }
        let start = MonotonicClock.now()
        try reactor.run()
        #expect(!timedOut, "the timers did not all fire within 30 s")
        #expect(fired == [1, 2, 3])
        #expect(MonotonicClock.now() - start >= 30_000_000)
    }

    @Test func remoteStopEndsTheLoopFromAnotherThread() throws {
        let reactor = try Reactor()
        let (a, b) = try Socket.pair()
        defer {
            a.close()
            b.close()
        }
        try reactor.register(a, interest: .readable, handler: Probe())
        let remote = try reactor.makeRemoteStop()
        let thread = Thread { remote.stop() }
        thread.start()
        try runBounded(reactor)  // would time out without the remote stop
        reactor.deregister(a)
    }

    @Test func signalsArriveOnTheLoop() throws {
        let reactor = try Reactor()
        var received: [CInt] = []
        try reactor.handleSignals([SIGUSR2]) { signal in
            received.append(signal)
            reactor.stop()
        }
        defer { SignalPipe.shared.uninstall([SIGUSR2]) }
        reactor.schedule(after: .seconds(10)) { $0.stop() }  // bound the wait if the signal is lost
        kill(getpid(), SIGUSR2)  // to the process: any thread that does not block it takes it
        try reactor.run()
        #expect(received == [SIGUSR2])
    }
}
