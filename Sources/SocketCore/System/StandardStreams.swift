// StandardStreams.swift -- stdin, stdout and stderr as plain descriptors: raw writes for the output
// buffers, what kind of file each one is, and which of them the process was started without.
import Glibc

/// stdin, stdout and stderr as plain descriptors.
public enum StandardStreams {
    /// stdin's descriptor.
    public static let input: CInt = STDIN_FILENO
    /// stdout's descriptor.
    public static let output: CInt = STDOUT_FILENO
    /// stderr's descriptor.
    public static let error: CInt = STDERR_FILENO

    /// Bit n set: descriptor n was closed at start (`ensureOpen` put /dev/null there). Written once, before
    /// any thread starts, and only read afterwards.
    nonisolated(unsafe) private static var closedAtStart: UInt8 = 0

    /// Opens /dev/null on any of descriptors 0, 1, 2 that is closed, and remembers which. Call first
    /// thing: otherwise the first socket would get number 0 or 1, and stdin reads or log lines would go
    /// to a socket.
    public static func ensureOpen() {
        for descriptor: CInt in 0...2 where fcntl(descriptor, F_GETFD) == -1 && errno == EBADF {
            // open() takes the lowest free number: this one.
            _ = try? retryingInterrupts("open", detail: "/dev/null") { open("/dev/null", O_RDWR) }
            closedAtStart |= 1 << UInt8(descriptor)
        }
    }

    /// True when `descriptor` (0, 1 or 2) was closed when the process started: what is written there is
    /// lost, and a command that must deliver output says so instead of pretending.
    public static func wasClosedAtStart(_ descriptor: CInt) -> Bool {
        (0...2).contains(descriptor) && closedAtStart & (1 << UInt8(descriptor)) != 0
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

    /// Removes `names` from the environment, so programs started later do not inherit them. Call it before
    /// any thread starts (setenv and unsetenv are not thread-safe). The corresponding C function is `unsetenv(3)`.
    public static func unset(_ names: [String]) {
        for name in names { unsetenv(name) }
    }

    /// This process's id. The corresponding C function is `getpid(2)`.
    public static var processID: Int32 { getpid() }
}
