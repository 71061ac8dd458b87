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
}
