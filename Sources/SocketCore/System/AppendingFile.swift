// AppendingFile.swift -- an output file created before a run and written as it goes (a capture's pcap) or
// once at its end (a plot), so that a path that cannot be written fails before the run, not after it.
import Glibc

/// A file written as a capture goes, so that what was captured is on disk however the capture ends.
public final class AppendingFile {
    /// The path as given.
    public let path: String
    /// The descriptor; -1 once closed.
    private var descriptor: CInt

    /// Creates or truncates the file (mode 0644). The corresponding C function is `open(2)`.
    ///
    /// - Throws: `SystemError` naming `open` and the path.
    public init(creating path: String) throws(SystemError) {
        self.path = path
        descriptor = try retryingInterrupts("open", detail: path) {
            open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
        }
    }

    deinit {
        assert(descriptor == -1, "leak of open AppendingFile \(path)")
    }

    /// Writes all of `bytes`. The corresponding C function is `write(2)`.
    public func write(_ bytes: [UInt8]) throws(SystemError) {
        let fd = descriptor
        let path = self.path
        let outcome = bytes.withUnsafeBytes { raw in
            Result { () throws(SystemError) in
                var offset = 0
                while offset < raw.count {
                    let start = offset
                    offset += try retryingInterrupts("write", detail: path) {
                        Glibc.write(fd, raw.baseAddress! + start, raw.count - start)
                    }
                }
            }
        }
        try outcome.get()
    }

    /// Closes the file. Later calls do nothing.
    public func close() {
        guard descriptor >= 0 else { return }
        let fd = descriptor
        descriptor = -1
        closeDescriptor(fd)
    }
}

@available(*, unavailable)
extension AppendingFile: Sendable {}

/// The whole contents of a regular file (a capture to read back). The corresponding C functions are
/// `open(2)` and `read(2)`.
public func readWholeFile(_ path: String) throws(SystemError) -> [UInt8] {
    try ProcFiles.read(path)
}
