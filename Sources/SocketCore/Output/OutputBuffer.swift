// OutputBuffer.swift -- buffered, blocking writes to stdout or stderr, flushed per line or per loop turn.
//
// The rule of this file: a buffer holds whole lines when it is flushed, and a flush writes them under one
// process-wide lock, so the loops of `--workers` (each with its own buffers on the same descriptor) never
// interleave parts of lines, even past PIPE_BUF, where a pipe no longer keeps one write(2) whole.
import Synchronization

/// A byte buffer in front of a descriptor. A server flushes it once per reactor turn (one write(2) for
/// everything a turn printed); interactive and JSON output flush after every line.
public final class OutputBuffer {
    /// When the buffer goes to the descriptor by itself.
    public enum FlushPolicy: Sendable {
        /// After every line: for JSON lines, terminals and one-shot commands.
        case eachLine
        /// Only on `flush()` (or when large): for servers, flushed before the loop sleeps.
        case manual
    }

    let descriptor: CInt
    public var policy: FlushPolicy
    private var bytes: [UInt8] = []
    /// Set when a write failed (a closed pipe): later output is dropped instead of retried.
    public private(set) var isBroken = false
    /// Why the output was lost, once it was: EPIPE (the reader left), ENOSPC (disk full), EBADF (the
    /// descriptor was closed when the process started). A client checks it before it reports success.
    public private(set) var failure: Errno?
    /// Tests capture output here instead of writing it.
    private let capture: ((String) -> Void)?
    /// True when the descriptor is /dev/null: nothing written can be seen, so callers may skip formatting
    /// it (GNU tar does the same for an archive on /dev/null).
    public let isDiscarded: Bool

    /// Output to a descriptor (1 for stdout, 2 for stderr).
    public init(descriptor: CInt, policy: FlushPolicy = .eachLine) {
        self.descriptor = descriptor
        self.policy = policy
        self.capture = nil
        // A descriptor closed at start is /dev/null too, but there the output was wanted and is lost.
        self.isDiscarded = StandardStreams.isNullDevice(descriptor) && !StandardStreams.wasClosedAtStart(descriptor)
    }

    /// Held while any buffer writes (see the file's rule): uncontended, one lock per flush, not per line.
    private static let writeLock = Mutex(())

    /// The descriptor, for a buffer like this one on another thread; nil for a capturing buffer (tests).
    var sharedDescriptor: CInt? { capture == nil ? descriptor : nil }

    /// Output handed to `capture`, line by line (tests).
    public init(capture: @escaping (String) -> Void) {
        self.descriptor = -1
        self.policy = .eachLine
        self.capture = capture
        self.isDiscarded = false
    }

    /// True when the descriptor is a terminal.
    public var isTerminal: Bool { StandardStreams.isTerminal(descriptor) }

    /// True when a progress line may be redrawn in place with "\r" and erase-line codes: a terminal that
    /// is not TERM=dumb.
    public var canRedraw: Bool {
        isTerminal && Environment.value("TERM") != "dumb"
    }

    /// Appends `text` and a newline.
    public func writeLine(_ text: String) {
        if let capture {
            capture(text)
            return
        }
        bytes.append(contentsOf: text.utf8)
        bytes.append(UInt8(ascii: "\n"))
        if policy == .eachLine || bytes.count >= 1 << 16 { flush() }
    }

    /// Appends a line built in place by `build` (no intermediate String), then a newline. The hot path of
    /// a server's event lines.
    public func writeLine(building build: (inout [UInt8]) -> Void) {
        if let capture {
            var line: [UInt8] = []
            build(&line)
            capture(String(decoding: line, as: UTF8.self))
            return
        }
        build(&bytes)
        bytes.append(UInt8(ascii: "\n"))
        if policy == .eachLine || bytes.count >= 1 << 16 { flush() }
    }

    /// Appends `text` as is (progress lines that redraw with "\r").
    public func write(_ text: String) {
        if let capture {
            capture(text)
            return
        }
        bytes.append(contentsOf: text.utf8)
        if policy == .eachLine { flush() }
    }

    /// Writes everything buffered. Blocks if the reader is slow: output is never silently dropped unless
    /// the reader is gone (EPIPE), after which it is discarded.
    public func flush() {
        guard !bytes.isEmpty, descriptor >= 0 else { return }
        defer { bytes.removeAll(keepingCapacity: true) }
        guard !isBroken else { return }
        // Closed at start, the descriptor is /dev/null (StandardStreams.ensureOpen): nothing written here
        // can be read, which is a failure, not a success.
        if StandardStreams.wasClosedAtStart(descriptor) {
            isBroken = true
            failure = .badFileDescriptor
            return
        }
        let descriptor = descriptor
        let error = bytes.withUnsafeBytes { raw -> SystemError? in
            Self.writeLock.withLock { _ -> SystemError? in
                do throws(SystemError) {
                    try StandardStreams.writeAll(raw, to: descriptor, name: "descriptor \(descriptor)")
                    return nil
                } catch {
                    return error
                }
            }
        }
        if let error {
            failure = error.errno
            isBroken = true
        }
    }
}

@available(*, unavailable)
extension OutputBuffer: Sendable {}
