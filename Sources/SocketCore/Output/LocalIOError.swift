// LocalIOError.swift -- this machine's own input or output failed: stdout closed, full (disk full,
// /dev/full) or gone (EPIPE), stdin unreadable. Not the peer's fault, and never a success: exit 74.

/// A failure to write a command's own output, or to read its own input.
public struct LocalIOError: Error, CustomStringConvertible, Sendable, Equatable {
    /// Which way the failed transfer went.
    public enum Direction: Sendable, Equatable {
        /// Reading this command's input (stdin).
        case input
        /// Writing this command's output (stdout).
        case output
    }

    public let direction: Direction
    /// "stdout", "stdin": the stream as the user redirected it.
    public let stream: String
    /// Why, as the system said.
    public let errno: Errno

    public init(_ direction: Direction, stream: String, errno: Errno) {
        self.direction = direction
        self.stream = stream
        self.errno = errno
    }

    /// From the failed call on the stream.
    public init(_ direction: Direction, _ error: SystemError) {
        self.init(direction, stream: error.detail.isEmpty ? "the stream" : error.detail, errno: error.errno)
    }

    public var description: String {
        let verb = direction == .output ? "write" : "read"
        // EBADF here is not a bug: the user started the command with the stream closed (`>&-`) or open
        // the other way only (`1</dev/null`).
        if errno == .badFileDescriptor {
            return
                "cannot \(verb) \(stream): it is closed or not open for \(direction == .output ? "writing" : "reading")"
        }
        return "cannot \(verb) \(stream): \(errno) (\(errno.name))"
    }
}
