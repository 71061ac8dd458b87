// StreamDescriptor.swift -- a descriptor the relay reads or writes that is not its connection: stdin,
// stdout, a pipe, a terminal, a regular file, /dev/null, or a socket a parent handed over.
//
// The relay never changes O_NONBLOCK here: the open file may be shared with the shell (a terminal) or
// a parent (a pipe), and a flag left behind would break them. Reads happen after poll() says readable;
// a socket gets MSG_DONTWAIT, as the connection does.
import CSocketShim
import Glibc

/// What kind of file a descriptor is, as fstat(2) and isatty(3) tell.
public enum DescriptorKind: Sendable, Equatable {
    case regularFile, pipe, terminal, characterDevice, socket, other
}

/// A descriptor this process does not own (it is not closed here), with errno-checked reads and writes.
public struct StreamDescriptor: Sendable {
    /// The descriptor number.
    public let descriptor: CInt
    /// What it is.
    public let kind: DescriptorKind
    /// "stdin", "stdout", ...: what errors on it name.
    public let name: String
    /// False when the descriptor was closed at start or is not open for reading.
    private let canRead: Bool
    /// False when the descriptor was closed at start or is not open for writing.
    private let canWrite: Bool
    /// True when a read or write may wait: a pipe, terminal or device in blocking mode. Such a descriptor
    /// is read once per readiness event (poll said there is something), never again on speculation.
    /// Regular files never wait, and sockets are read and written with MSG_DONTWAIT.
    public let mayBlock: Bool

    /// Looks at `descriptor`. The corresponding C functions are `fstat(2)`, `isatty(3)` and `fcntl(F_GETFL)`.
    public init(_ descriptor: CInt, name: String) {
        self.descriptor = descriptor
        self.name = name
        var status = stat()
        let type = fstat(descriptor, &status) == 0 ? status.st_mode & S_IFMT : 0
        switch type {
        case S_IFREG: kind = .regularFile
        case S_IFIFO: kind = .pipe
        case S_IFSOCK: kind = .socket
        case S_IFCHR: kind = isatty(descriptor) == 1 ? .terminal : .characterDevice
        default: kind = .other
        }
        let mode = fcntl(descriptor, F_GETFL)
        let closed = StandardStreams.wasClosedAtStart(descriptor) || mode == -1
        let access = mode & O_ACCMODE
        canRead = !closed && (access == O_RDONLY || access == O_RDWR)
        canWrite = !closed && (access == O_WRONLY || access == O_RDWR)
        mayBlock = kind != .regularFile && kind != .socket && (mode == -1 || mode & O_NONBLOCK == 0)
    }

    /// stdin.
    public static var standardInput: StreamDescriptor { StreamDescriptor(StandardStreams.input, name: "stdin") }
    /// stdout.
    public static var standardOutput: StreamDescriptor { StreamDescriptor(StandardStreams.output, name: "stdout") }

    /// True for a terminal: a person may be typing, and wants to hear what happened to the peer.
    public var isTerminal: Bool { kind == .terminal }

    /// Reads what is there. `.processed(0)` is end of input. The corresponding C function is `read(2)`
    /// (`recv(2)` with MSG_DONTWAIT on a socket).
    ///
    /// - Throws: `SystemError`; EBADF when the descriptor is closed or write-only (said here, not trapped:
    ///   `sockettool ... <&-` is the user's choice, not a bug).
    @inline(__always)
    public func read(into buffer: UnsafeMutableRawBufferPointer) throws(SystemError) -> IOResult<Int> {
        guard canRead else { throw SystemError(errno: .badFileDescriptor, call: "read", detail: name) }
        let fd = descriptor
        if kind == .socket {
            return try nonBlocking("recv", detail: name) {
                Glibc.recv(fd, buffer.baseAddress, buffer.count, CInt(MSG_DONTWAIT))
            }
        }
        return try nonBlocking("read", detail: name) { Glibc.read(fd, buffer.baseAddress, buffer.count) }
    }

    /// Writes what the descriptor takes, possibly part. A blocking pipe or terminal waits for room here.
    /// The corresponding C function is `write(2)` (`send(2)` with MSG_NOSIGNAL and MSG_DONTWAIT on a socket).
    ///
    /// - Throws: `SystemError`: EPIPE (the reader left), ENOSPC (disk full), EBADF (closed or read-only).
    @inline(__always)
    public func write(_ buffer: UnsafeRawBufferPointer) throws(SystemError) -> IOResult<Int> {
        guard canWrite else { throw SystemError(errno: .badFileDescriptor, call: "write", detail: name) }
        let fd = descriptor
        if kind == .socket {
            return try nonBlocking("send", detail: name) {
                Glibc.send(fd, buffer.baseAddress, buffer.count, CInt(MSG_NOSIGNAL) | CInt(MSG_DONTWAIT))
            }
        }
        return try nonBlocking("write", detail: name) { Glibc.write(fd, buffer.baseAddress, buffer.count) }
    }

    /// For a regular file, the bytes between the current offset and the end (what a relay that stops now
    /// leaves unread); nil for anything else. The corresponding C functions are `lseek(2)` and `fstat(2)`.
    public func unreadBytes() -> Int? {
        guard kind == .regularFile else { return nil }
        var status = stat()
        let offset = lseek(descriptor, 0, SEEK_CUR)
        guard offset >= 0, fstat(descriptor, &status) == 0 else { return nil }
        return max(0, Int(status.st_size) - Int(offset))
    }
}
