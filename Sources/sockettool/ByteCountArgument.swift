// ByteCountArgument.swift -- byte counts as people type them, for every size option: 4096, 64k, 1.5M, 2MiB;
// and the checks the size and seconds options share.
import ArgumentParser
import SocketCore

/// A number of bytes typed with an optional unit.
protocol ByteAmount {
    var bytes: Int { get }
}

/// A byte count; k, m and g are powers of 1024, as the kernel's buffer sizes are.
struct ByteCount: ByteAmount, ExpressibleByArgument, Sendable {
    /// The count in bytes.
    let bytes: Int

    init(bytes: Int) { self.bytes = bytes }

    init?(argument: String) {
        // "64k/s" is a rate: only --drain takes one.
        guard !argument.contains("/"), let bytes = FloodOptions.parseByteCount(argument) else { return nil }
        self.bytes = bytes
    }

    /// "64k", as the user would type it.
    var defaultValueDescription: String {
        if bytes >= 1 << 20 && bytes % (1 << 20) == 0 { return "\(bytes >> 20)m" }
        if bytes >= 1 << 10 && bytes % (1 << 10) == 0 { return "\(bytes >> 10)k" }
        return String(bytes)
    }
}

/// Bytes per second: "64k" or "64k/s".
struct ByteRate: ByteAmount, ExpressibleByArgument, Sendable {
    /// Bytes per second.
    let bytes: Int

    init?(argument: String) {
        guard let bytes = FloodOptions.parseByteCount(argument) else { return nil }
        self.bytes = bytes
    }
}

/// Checks a byte count option: at least 1 and at most `maximum`.
func validateByteCount(_ value: (some ByteAmount)?, _ name: String, maximum: Int = Int(Int32.max)) throws {
    guard let value else { return }
    if value.bytes < 1 { throw ValidationError("\(name) must be at least 1 byte.") }
    if value.bytes > maximum {
        throw ValidationError("\(name) must be at most \(NumberFormat.grouped(maximum)) bytes.")
    }
}

/// Checks a seconds option: more than 0.
func validateSeconds(_ value: Seconds?, _ name: String) throws {
    guard let value else { return }
    if value.value <= 0 { throw ValidationError("\(name) must be more than 0 seconds.") }
}
