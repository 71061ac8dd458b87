// OutboundBuffer.swift -- bytes waiting to be written, consumed from the front as the kernel takes them.

/// A FIFO of bytes in one manually managed block. Appends copy in; writes go straight from the block; a
/// partial write only moves the head. Memory grows only as bytes are appended, and is given back when
/// the buffer empties after growing large.
public final class OutboundBuffer {
    private var storage: UnsafeMutableRawPointer?
    private var capacity = 0
    /// Waiting bytes are storage[head..<tail].
    private var head = 0
    private var tail = 0
    /// Capacity kept when the buffer empties; larger blocks are freed.
    private let retainedCapacity: Int

    public init(retainedCapacity: Int = 1 << 16) {
        self.retainedCapacity = retainedCapacity
    }

    deinit {
        storage?.deallocate()
    }

    /// Bytes waiting.
    @inline(__always)
    public var count: Int { tail - head }
    @inline(__always)
    public var isEmpty: Bool { head == tail }

    /// The waiting bytes; valid until the next append or consume.
    public var readableBytes: UnsafeRawBufferPointer {
        UnsafeRawBufferPointer(start: storage.map { $0 + head }, count: tail - head)
    }

    /// Queues bytes.
    public func append(_ bytes: UnsafeRawBufferPointer) {
        guard !bytes.isEmpty else { return }
        reserve(bytes.count)
        (storage! + tail).copyMemory(from: bytes.baseAddress!, byteCount: bytes.count)
        tail += bytes.count
    }

    /// Queues bytes.
    public func append(_ bytes: [UInt8]) {
        bytes.withUnsafeBytes { append($0) }
    }

    /// Drops `byteCount` bytes from the front (the kernel took them).
    public func consume(_ byteCount: Int) {
        precondition(byteCount <= count)
        head += byteCount
        if head == tail {
            head = 0
            tail = 0
            if capacity > retainedCapacity {
                storage?.deallocate()
                storage = nil
                capacity = 0
            }
        }
    }

    /// Drops everything and frees the block.
    public func removeAll() {
        storage?.deallocate()
        storage = nil
        capacity = 0
        head = 0
        tail = 0
    }

    /// Makes room for `extra` bytes after `tail`: slide to the front if that suffices, else grow.
    private func reserve(_ extra: Int) {
        if tail + extra <= capacity { return }
        let live = count
        if live + extra <= capacity && head > 0 {
            storage!.copyMemory(from: storage! + head, byteCount: live)
        } else {
            let newCapacity = max(live + extra, capacity * 2, 4096)
            let grown = UnsafeMutableRawPointer.allocate(byteCount: newCapacity, alignment: BufferAlignment.bytes)
            if live > 0 { grown.copyMemory(from: storage! + head, byteCount: live) }
            storage?.deallocate()
            storage = grown
            capacity = newCapacity
        }
        head = 0
        tail = live
    }
}

@available(*, unavailable)
extension OutboundBuffer: Sendable {}
