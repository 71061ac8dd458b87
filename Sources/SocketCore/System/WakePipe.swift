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
        let fd = writeDescriptor
        _ = try? nonBlocking("write", detail: "wake-up pipe") { Glibc.write(fd, &byte, 1) }
    }

    /// Reads every byte written so far (non-blocking; empty if none).
    public func drain() -> [UInt8] {
        var received: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 64)
        let fd = readDescriptor
        while true {
            let result = chunk.withUnsafeMutableBytes { buffer in
                try? nonBlocking("read", detail: "wake-up pipe") { Glibc.read(fd, buffer.baseAddress, buffer.count) }
            }
            guard case .processed(let count)? = result, count > 0 else { return received }
            received.append(contentsOf: chunk[0..<count])
        }
    }
}
