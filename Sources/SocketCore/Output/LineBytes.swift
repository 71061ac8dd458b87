// LineBytes.swift -- appending text to a byte buffer without building Strings: literals, Strings,
// decimal numbers. Used by the event lines a server prints per request.

extension Array where Element == UInt8 {
    /// Appends a literal's bytes straight from the binary's data.
    @inline(__always)
    public mutating func append(literal: StaticString) {
        append(contentsOf: UnsafeBufferPointer(start: literal.utf8Start, count: literal.utf8CodeUnitCount))
    }

    /// Appends a String's UTF-8.
    @inline(__always)
    public mutating func append(text: String) {
        append(contentsOf: text.utf8)
    }

    /// Appends up to `maximumCount` bytes written through a pointer by `write`, which returns how many it
    /// wrote: one capacity check for a whole escaped payload instead of one per byte.
    @inline(__always)
    public mutating func append(
        maximumCount: Int,
        writingWith write: (UnsafeMutablePointer<UInt8>) -> Int
    ) {
        let start = count
        append(contentsOf: repeatElement(0, count: maximumCount))
        let written = withUnsafeMutableBufferPointer { write($0.baseAddress! + start) }
        removeLast(maximumCount - written)
    }
}
