// Memory.swift -- byte comparison for verifying echoed data at memory speed.
import Glibc

/// True when `count` bytes at `a` and `b` are equal. The corresponding C function is `memcmp(3)`.
@inline(__always)
public func bytesEqual(_ a: UnsafeRawPointer, _ b: UnsafeRawPointer, count: Int) -> Bool {
    memcmp(a, b, count) == 0
}
