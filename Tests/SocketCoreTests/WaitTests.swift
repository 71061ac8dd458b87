// WaitTests.swift -- the one blocking wait: readiness, deadlines, hang-ups, on socketpairs (no ports).
import Testing

@testable import SocketCore

@Suite struct WaitTests {
    @Test("a deadline that passes with nothing ready gives nil, no sooner than the deadline")
    func deadlinePasses() throws {
        let (a, b) = try Socket.pair()
        defer {
            a.close()
            b.close()
        }
        let start = MonotonicClock.now()
        let deadline = start &+ 50_000_000
        #expect(try Wait.until(deadline, [WaitTarget(a.descriptor, .readable)]) == nil)
        #expect(MonotonicClock.now() >= deadline)
    }

    @Test("a deadline already passed still looks once: what is ready now is reported")
    func passedDeadlineLooksOnce() throws {
        let (a, b) = try Socket.pair()
        defer {
            a.close()
            b.close()
        }
        _ = try [UInt8(1)].withUnsafeBytes { try b.write($0) }
        let ready = try Wait.until(MonotonicClock.now() &- 1, [WaitTarget(a.descriptor, .readable)])
        #expect(ready == [.readable])
    }

    @Test("each target gets its own readiness; a negative descriptor is skipped")
    func perTargetReadiness() throws {
        let (a, b) = try Socket.pair()
        defer {
            a.close()
            b.close()
        }
        _ = try [UInt8(1)].withUnsafeBytes { try b.write($0) }
        let ready = try #require(
            try Wait.until(nil, [WaitTarget(-1, .readable), WaitTarget(a.descriptor, [.readable, .writable])])
        )
        #expect(ready[0].isEmpty)
        #expect(ready[1] == [.readable, .writable])
    }

    @Test("a peer that closed makes the socket ready for both, so the next call reports it")
    func hangUpIsReadiness() throws {
        let (a, b) = try Socket.pair()
        defer { a.close() }
        b.close()
        let ready = try #require(
            try Wait.until(Wait.deadline(after: .seconds(5)), [WaitTarget(a.descriptor, .writable)])
        )
        #expect(ready[0].contains(.readable) && ready[0].contains(.writable))
    }

    @Test("timeouts round up to the millisecond and never go negative")
    func milliseconds() {
        #expect(Wait.milliseconds(until: nil) == -1)
        #expect(Wait.milliseconds(until: 0) == 0)
        let soon = Wait.milliseconds(until: MonotonicClock.now() &+ 300_000)
        #expect(soon == 1)
    }

    @Test("Socket.wait: a timeout, or readiness")
    func socketWaitTimesOut() throws {
        let (a, b) = try Socket.pair()
        defer {
            a.close()
            b.close()
        }
        #expect(try a.wait(for: .readable, timeout: .milliseconds(20)) == .timedOut)
        #expect(try a.wait(for: .writable, timeout: .seconds(5)) == .ready)
    }
}
