// StandardStreams.swift -- raw reads from stdin and writes to stdout, for netcat mode.
import Glibc

/// stdin and stdout as plain descriptors.
public enum StandardStreams {
    /// stdin's descriptor.
    public static let input: CInt = STDIN_FILENO
    /// stdout's descriptor.
    public static let output: CInt = STDOUT_FILENO

    /// Opens /dev/null on any of descriptors 0, 1, 2 that is closed. Call first thing: otherwise the first
    /// socket would get number 0 or 1, and stdin reads or log lines would go to a socket.
    public static func ensureOpen() {
        for descriptor: CInt in 0...2 where fcntl(descriptor, F_GETFD) == -1 && errno == EBADF {
            // open() takes the lowest free number: this one.
            _ = open("/dev/null", O_RDWR)
        }
    }

    /// Reads what stdin has. `.processed(0)` is end of input. The corresponding C function is `read(2)`.
    public static func read(into buffer: UnsafeMutableRawBufferPointer) throws(SystemError) -> IOResult<Int> {
        try nonBlocking("read", detail: "stdin") { Glibc.read(input, buffer.baseAddress, buffer.count) }
    }

    /// Writes all of `bytes` to stdout, waiting if it is full.
    public static func writeAll(_ bytes: UnsafeRawBufferPointer) throws(SystemError) {
        var offset = 0
        while offset < bytes.count {
            let result = try nonBlocking("write", detail: "stdout") {
                Glibc.write(output, bytes.baseAddress! + offset, bytes.count - offset)
            }
            switch result {
            case .processed(let written): offset += written
            case .wouldBlock:
                var entry = pollfd(fd: output, events: Int16(POLLOUT), revents: 0)
                _ = poll(&entry, 1, -1)
            }
        }
    }
}
