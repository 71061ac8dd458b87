// StandardStreams.swift -- stdin, stdout and stderr as plain descriptors: raw reads and writes for netcat
// mode and the output buffers, and what kind of file each one is.
import Glibc

/// stdin, stdout and stderr as plain descriptors.
public enum StandardStreams {
    /// stdin's descriptor.
    public static let input: CInt = STDIN_FILENO
    /// stdout's descriptor.
    public static let output: CInt = STDOUT_FILENO
    /// stderr's descriptor.
    public static let error: CInt = STDERR_FILENO

    /// Opens /dev/null on any of descriptors 0, 1, 2 that is closed. Call first thing: otherwise the first
    /// socket would get number 0 or 1, and stdin reads or log lines would go to a socket.
    public static func ensureOpen() {
        for descriptor: CInt in 0...2 where fcntl(descriptor, F_GETFD) == -1 && errno == EBADF {
            // open() takes the lowest free number: this one.
            _ = try? retryingInterrupts("open", detail: "/dev/null") { open("/dev/null", O_RDWR) }
        }
    }

    /// Reads what stdin has. `.processed(0)` is end of input. The corresponding C function is `read(2)`.
    public static func read(into buffer: UnsafeMutableRawBufferPointer) throws(SystemError) -> IOResult<Int> {
        try nonBlocking("read", detail: "stdin") { Glibc.read(input, buffer.baseAddress, buffer.count) }
    }

    /// Writes all of `bytes` to stdout, waiting if it is full.
    public static func writeAll(_ bytes: UnsafeRawBufferPointer) throws(SystemError) {
        try writeAll(bytes, to: output, name: "stdout")
    }

    /// Writes all of `bytes` to `descriptor`, waiting (without a deadline) whenever it is full: stdout may be
    /// a non-blocking pipe shared with a parent. The corresponding C function is `write(2)`.
    ///
    /// - Throws: `SystemError` naming `name`, e.g. EPIPE when the reader is gone.
    public static func writeAll(
        _ bytes: UnsafeRawBufferPointer,
        to descriptor: CInt,
        name: @autoclosure () -> String
    ) throws(SystemError) {
        var offset = 0
        while offset < bytes.count {
            let start = offset
            let result = try nonBlocking("write", detail: name()) {
                Glibc.write(descriptor, bytes.baseAddress! + start, bytes.count - start)
            }
            switch result {
            case .processed(let written): offset += written
            case .wouldBlock: _ = try Wait.until(nil, descriptor, .writable)
            }
        }
    }

    /// True when the descriptor is a terminal. The corresponding C function is `isatty(3)`.
    public static func isTerminal(_ descriptor: CInt) -> Bool {
        descriptor >= 0 && isatty(descriptor) == 1
    }

    /// True when `descriptor` is the same character device as /dev/null. The corresponding C function is
    /// `fstat(2)`.
    public static func isNullDevice(_ descriptor: CInt) -> Bool {
        var target = stat()
        var null = stat()
        guard fstat(descriptor, &target) == 0, stat("/dev/null", &null) == 0 else { return false }
        return target.st_mode & S_IFMT == S_IFCHR && target.st_rdev == null.st_rdev
    }
}

/// The process's environment variables.
public enum Environment {
    /// The value of `name`, or nil when it is not set. The corresponding C function is `getenv(3)`.
    public static func value(_ name: String) -> String? {
        getenv(name).map { String(cString: $0) }
    }
}
