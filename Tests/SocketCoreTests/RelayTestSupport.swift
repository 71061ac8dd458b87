// RelayTestSupport.swift -- the far ends of an in-process relay: a peer on the other end of a
// socketpair, a writer feeding the relay's stdin pipe and a reader draining its stdout pipe, each on its
// own thread with plain blocking-style I/O on raw descriptors (independent of SocketCore's calls), every
// wait bounded by a deadline.
import Foundation
import Glibc
import SocketCore
import Testing

/// A thread running `body`; `join` waits for it with a deadline.
final class TestThread: @unchecked Sendable {
    // @unchecked: `done` is a semaphore, and nothing else is shared.
    private let done = DispatchSemaphore(value: 0)

    init(_ body: @escaping @Sendable () -> Void) {
        let done = self.done
        Thread.detachNewThread {
            body()
            done.signal()
        }
    }

    /// True if the thread ended within `seconds`.
    @discardableResult
    func join(seconds: Double = 30) -> Bool {
        done.wait(timeout: .now() + seconds) == .success
    }
}

/// Results a thread hands back to the test.
final class Box<Value: Sendable>: @unchecked Sendable {
    // @unchecked: guarded by the lock.
    private let lock = NSLock()
    private var stored: Value
    init(_ value: Value) { stored = value }
    var value: Value {
        get { lock.withLock { stored } }
        set { lock.withLock { stored = newValue } }
    }
}

/// Raw descriptor I/O for the far ends, bounded by deadlines.
enum RawIO {
    /// A pipe: (read end, write end), close-on-exec.
    static func pipe() -> (CInt, CInt) {
        var ends: [CInt] = [-1, -1]
        precondition(Glibc.pipe(&ends) == 0)
        for end in ends { _ = fcntl(end, F_SETFD, FD_CLOEXEC) }
        return (ends[0], ends[1])
    }

    /// Waits for `events` on `fd`; false when `seconds` passed first.
    static func wait(_ fd: CInt, _ events: Int32, seconds: Double) -> Bool {
        var entry = pollfd(fd: fd, events: Int16(events), revents: 0)
        while true {
            let ready = poll(&entry, 1, CInt(seconds * 1000))
            if ready < 0 && errno == EINTR { continue }
            return ready > 0
        }
    }

    /// Writes all of `bytes`; false if the reader went away (EPIPE, ECONNRESET) or time ran out.
    @discardableResult
    static func writeAll(_ fd: CInt, _ bytes: [UInt8], seconds: Double = 30) -> Bool {
        var offset = 0
        let deadline = Date().addingTimeInterval(seconds)
        while offset < bytes.count {
            let written = bytes.withUnsafeBytes { raw in
                Glibc.send(fd, raw.baseAddress! + offset, raw.count - offset, CInt(MSG_DONTWAIT | MSG_NOSIGNAL))
            }
            let sendErrno = errno
            if written >= 0 {
                offset += written
                continue
            }
            // Not a socket: a pipe.
            if sendErrno == ENOTSOCK {
                let result = bytes.withUnsafeBytes { raw in
                    Glibc.write(fd, raw.baseAddress! + offset, raw.count - offset)
                }
                if result >= 0 {
                    offset += result
                    continue
                }
                if errno != EAGAIN && errno != EINTR { return false }
            } else if sendErrno != EAGAIN && sendErrno != EINTR {
                return false
            }
            guard Date() < deadline, wait(fd, POLLOUT, seconds: deadline.timeIntervalSinceNow) else { return false }
        }
        return true
    }

    /// Reads until end of stream (or an error, or the deadline); returns what came.
    static func readAll(_ fd: CInt, seconds: Double = 30) -> [UInt8] {
        var result: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 65536)
        let deadline = Date().addingTimeInterval(seconds)
        while Date() < deadline {
            guard wait(fd, POLLIN, seconds: max(0.001, deadline.timeIntervalSinceNow)) else { break }
            let count = chunk.withUnsafeMutableBytes { Glibc.read(fd, $0.baseAddress, $0.count) }
            if count > 0 {
                result.append(contentsOf: chunk[0..<count])
            } else if count == 0 || (errno != EAGAIN && errno != EINTR) {
                break
            }
        }
        return result
    }

    /// Reads exactly `count` bytes (fewer at end of stream or the deadline).
    static func readExactly(_ fd: CInt, _ count: Int, seconds: Double = 30) -> [UInt8] {
        var result: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 65536)
        let deadline = Date().addingTimeInterval(seconds)
        while result.count < count, Date() < deadline {
            guard wait(fd, POLLIN, seconds: max(0.001, deadline.timeIntervalSinceNow)) else { break }
            let wanted = min(chunk.count, count - result.count)
            let got = chunk.withUnsafeMutableBytes { Glibc.read(fd, $0.baseAddress, wanted) }
            if got > 0 {
                result.append(contentsOf: chunk[0..<got])
            } else if got == 0 || (errno != EAGAIN && errno != EINTR) {
                break
            }
        }
        return result
    }

    /// True when end of stream is already waiting on `fd` (a read would return 0 now); false when it
    /// would block.
    static func endOfStreamWaiting(_ fd: CInt) -> Bool {
        var byte: UInt8 = 0
        return recv(fd, &byte, 1, CInt(MSG_DONTWAIT | MSG_PEEK)) == 0
    }
}

/// Reproducible bytes for a transfer.
func relayPayload(_ count: Int, seed: Int) -> [UInt8] {
    PayloadPattern().stream(seed, count: count)
}

/// An event log whose lines are collected, and which calls `onLine` for each (from the relay's thread).
final class CapturedLog: @unchecked Sendable {
    // @unchecked: lines are appended on the relay's thread and read after it ended, under the lock.
    private let lines = Box<[String]>([])
    let log: EventLog

    init(
        verbosity: Verbosity = .verbose,
        format: EventLog.Format = .text,
        onLine: @escaping (String) -> Void = { _ in }
    ) {
        let lines = self.lines
        let buffer = OutputBuffer(capture: { line in
            lines.value.append(line)
            onLine(line)
        })
        log = EventLog(format: format, verbosity: verbosity, output: buffer, diagnostics: buffer)
    }

    var text: [String] { lines.value }
}

/// Runs `relay` on `reactor`, failing the test (instead of hanging) after `seconds`.
func runRelayBounded(_ relay: Relay, on reactor: Reactor, seconds: Double = 30) throws -> TransferSummary {
    var timedOut = false
    let guardTimer = reactor.schedule(after: .seconds(seconds)) { reactor in
        timedOut = true
        reactor.stop()
    }
    defer {
        reactor.cancel(guardTimer)
        #expect(!timedOut, "the relay did not end within \(seconds) s")
    }
    return try relay.run(on: reactor)
}
