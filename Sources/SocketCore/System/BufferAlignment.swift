// BufferAlignment.swift -- where the kernel copies to and from.

/// Alignment for every buffer that read(2) fills or write(2) drains.
///
/// The kernel copies socket data with `rep movsb`, which slows down badly when the user buffer does not
/// start on a cache line: with malloc's 16-byte alignment, `_copy_to_iter` took 23-31% of `serve multi`'s
/// samples in a one-connection echo (perf record), against 3-4% at 64 bytes (docs/performance.md).
public enum BufferAlignment {
    /// One cache line.
    public static let bytes = 64
}
