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

/// Makes every arena give back what is freed at its top once it passes 1 MiB, from now on. glibc's default
/// raises that threshold each time a large block is freed (up to 32 MiB), and `returnFreeMemory` cannot make
/// up for it on worker threads: `malloc_trim` trims the top of the main arena only. After a burst of 1 MiB
/// requests answered on worker threads their arena kept about 10 MiB of free top resident. Fixing the
/// threshold also fixes the one for `mmap` at its 128 KiB default, so blocks that large are given back as
/// soon as they are freed. The corresponding C function is `mallopt(3)` with `M_TRIM_THRESHOLD`.
public func returnFreedMemoryPromptly() {
    _ = st_malloc_set_trim_threshold(1 << 20)
}

/// True when `count` bytes at `a` and `b` are equal. The corresponding C function is `memcmp(3)`.
@inline(__always)
public func bytesEqual(_ a: UnsafeRawPointer, _ b: UnsafeRawPointer, count: Int) -> Bool {
    memcmp(a, b, count) == 0
}
