// ReadBuffer.swift -- one large block that every connection of a loop reads into: reads go in big
// chunks, and a connection holds memory only for what it could not pass on yet.

/// A reusable read buffer, owned by one loop (not thread-safe, like the loop).
public final class ReadBuffer {
    /// The block; valid for the buffer's lifetime.
    public let bytes: UnsafeMutableRawBufferPointer

    public init(size: Int = 256 * 1024) {
        bytes = .allocate(byteCount: size, alignment: BufferAlignment.bytes)
    }

    deinit {
        bytes.deallocate()
    }
}

@available(*, unavailable)
extension ReadBuffer: Sendable {}
