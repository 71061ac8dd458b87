// ProcFiles.swift -- reading the small text files under /proc that tell what the kernel allows, and
// writing the plot: whole files at once, through the one syscall funnel.
import Glibc

/// Whole-file reads and writes for the flood experiment.
enum ProcFiles {
    /// The bytes of a file; /proc files report size 0, so this reads until end of file.
    /// The corresponding C functions are `open(2)` and `read(2)`.
    ///
    /// - Throws: `SystemError` naming the call and the path.
    static func read(_ path: String) throws(SystemError) -> [UInt8] {
        let fd = try retryingInterrupts("open", detail: path) { open(path, O_RDONLY | O_CLOEXEC) }
        defer { closeDescriptor(fd) }
        let chunk = UnsafeMutableRawBufferPointer.allocate(byteCount: 64 * 1024, alignment: BufferAlignment.bytes)
        defer { chunk.deallocate() }
        var contents: [UInt8] = []
        while true {
            let count = try retryingInterrupts("read", detail: path) { Glibc.read(fd, chunk.baseAddress, chunk.count) }
            if count == 0 { return contents }
            contents.append(contentsOf: UnsafeRawBufferPointer(rebasing: chunk[0..<count]))
        }
    }

    /// The lines of a text file, or nil when it cannot be read (no /proc, another OS, a sandbox).
    static func lines(_ path: String) -> [Substring]? {
        guard let bytes = try? read(path) else { return nil }
        return String(decoding: bytes, as: UTF8.self).split(separator: "\n")
    }

    /// The whitespace-separated integers of a one-line file such as /proc/sys/net/ipv4/tcp_rmem.
    static func integers(_ path: String) -> [Int]? {
        guard let line = lines(path)?.first else { return nil }
        let values = line.split(whereSeparator: { $0 == " " || $0 == "\t" }).compactMap { Int($0) }
        return values.isEmpty ? nil : values
    }
}

/// A file created (or truncated) at the start of a run and written at its end, so that a path that
/// cannot be written fails before the experiment, not after it.
public final class PlotFile {
    /// The path as given.
    public var path: String { file.path }
    private let file: AppendingFile

    /// Creates or truncates the file (mode 0644).
    ///
    /// - Throws: `SystemError` naming `open` and the path (ENOENT, EACCES, EISDIR ...).
    public init(creating path: String) throws(SystemError) {
        file = try AppendingFile(creating: path)
    }

    /// Writes all of `text`, then closes the file.
    public func writeAndClose(_ text: String) throws(SystemError) {
        defer { file.close() }
        try file.write(Array(text.utf8))
    }

    /// Closes without writing (the run failed). Later calls do nothing.
    public func close() {
        file.close()
    }
}

@available(*, unavailable)
extension PlotFile: Sendable {}
