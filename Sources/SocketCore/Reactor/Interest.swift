// Interest.swift -- what a handler wants to hear about (Interest) and what happened (Readiness).

/// The events a registration asks for.
public struct Interest: OptionSet, Sendable, Hashable {
    public let rawValue: UInt8
    public init(rawValue: UInt8) { self.rawValue = rawValue }

    /// Data (or end of stream, or an error) can be read.
    public static let readable = Interest(rawValue: 1 << 0)
    /// The send buffer has room. Ask only while output is pending, or the loop spins.
    public static let writable = Interest(rawValue: 1 << 1)
    /// Neither: the descriptor stays registered but the loop ignores it.
    public static let none: Interest = []
}

/// The events the selector reported for a descriptor.
public struct Readiness: OptionSet, Sendable, Hashable {
    public let rawValue: UInt8
    public init(rawValue: UInt8) { self.rawValue = rawValue }

    public static let readable = Readiness(rawValue: 1 << 0)
    public static let writable = Readiness(rawValue: 1 << 1)
    /// POLLHUP: both directions are closed.
    public static let hangup = Readiness(rawValue: 1 << 2)
    /// POLLERR: an error is pending (read it with SO_ERROR, or through read/write).
    public static let error = Readiness(rawValue: 1 << 3)
}
