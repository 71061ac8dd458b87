// Memory.swift -- byte comparison for verifying echoed data at memory speed, and giving freed memory
// back to the system.
import CSocketShim
import Glibc

/// Returns the free pages of the heap to the kernel. After a burst of large requests the allocator keeps
/// them (its free blocks sit between live ones), so an idle server's RSS would stay at the burst's peak.
/// The corresponding C function is `malloc_trim(3)`.
public func returnFreeMemory() {
    _ = st_malloc_trim()
}

/// True when `count` bytes at `a` and `b` are equal. The corresponding C function is `memcmp(3)`.
@inline(__always)
public func bytesEqual(_ a: UnsafeRawPointer, _ b: UnsafeRawPointer, count: Int) -> Bool {
    memcmp(a, b, count) == 0
}
