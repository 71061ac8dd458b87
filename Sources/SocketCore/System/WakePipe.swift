// WakePipe.swift -- a non-blocking pipe used to wake an event loop: from a signal handler, or from
// another thread. Writing one byte makes the read end readable.
import CSocketShim
import Glibc

/// A pipe whose read end an event loop watches. Both ends are non-blocking and close-on-exec.
public final class WakePipe: @unchecked Sendable {
    // @unchecked: the descriptors never change after init, and write(2) on a pipe is thread-safe.

    /// The end the loop watches.
    public let readDescriptor: CInt
    /// The end a waker writes to.
    public let writeDescriptor: CInt

    /// The corresponding C function is `pipe2(2)`.
    public init() throws(SystemError) {
        var ends: [CInt] = [-1, -1]
        _ = try retryingInterrupts("pipe2") { st_pipe_nonblocking(&ends) }
        readDescriptor = ends[0]
        writeDescriptor = ends[1]
    }

    deinit {
        closeDescriptor(readDescriptor)
        closeDescriptor(writeDescriptor)
    }

    /// Writes one byte. If the pipe is full the loop is already awake, so EAGAIN is fine.
    public func wake(with byte: UInt8 = 1) {
        var byte = byte
        _ = Glibc.write(writeDescriptor, &byte, 1)
    }

    /// Reads every byte written so far (non-blocking; empty if none).
    public func drain() -> [UInt8] {
        var received: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 64)
        while true {
            let count = chunk.withUnsafeMutableBytes { Glibc.read(readDescriptor, $0.baseAddress, $0.count) }
            if count > 0 {
                received.append(contentsOf: chunk[0..<count])
            } else if count < 0 && errno == EINTR {
                continue
            } else {
                return received
            }
        }
    }
}

extension WakePipe {
    /// Waits until one of `pipes` has something to read, at most `timeoutMilliseconds`.
    /// - Returns: For each pipe, whether it is readable (all false on timeout or EINTR).
    public static func waitReadable(_ pipes: [WakePipe], timeoutMilliseconds: CInt) throws(SystemError) -> [Bool] {
        var entries = pipes.map { pollfd(fd: $0.readDescriptor, events: Int16(POLLIN), revents: 0) }
        let ready = poll(&entries, nfds_t(entries.count), timeoutMilliseconds)
        if ready < 0 && errno != EINTR { throw SystemError(errno: Errno(rawValue: errno), call: "poll") }
        return entries.map { ready > 0 && $0.revents & Int16(POLLIN) != 0 }
    }
}
