// Payload.swift -- what clients send: the guide's messages, or N bytes of a reproducible pseudo-random
// pattern that the echo can be checked against without keeping a copy.

/// A deterministic byte pattern: byte `offset` of stream `s` is `bytes[(s * 7919 + offset) % period]`.
public struct PayloadPattern: Sendable {
    /// A prime, so streams with different seeds do not line up.
    public static let period = 65_521
    /// `period` pattern bytes followed by a copy, so any `period`-long window is contiguous.
    public let bytes: [UInt8]

    public init(seed: UInt64 = 0x5EED) {
        var generator = SplitMix64(seed: seed)
        var pattern = [UInt8](repeating: 0, count: Self.period)
        for index in pattern.indices { pattern[index] = UInt8(truncatingIfNeeded: generator.next()) }
        bytes = pattern + pattern
    }

    /// `count` bytes of stream `stream`, starting at `offset`.
    public func slice(stream: Int, offset: Int, count: Int) -> ArraySlice<UInt8> {
        precondition(count <= Self.period)
        let start = (stream &* 7919 &+ offset) % Self.period
        return bytes[start..<start + count]
    }

    /// `count` bytes of stream `stream` from the start, as one array (any length).
    public func stream(_ stream: Int, count: Int) -> [UInt8] {
        var result: [UInt8] = []
        result.reserveCapacity(count)
        while result.count < count {
            result.append(
                contentsOf: slice(stream: stream, offset: result.count, count: min(Self.period, count - result.count))
            )
        }
        return result
    }
}

/// SplitMix64 (Steele, Lea, Flood 2014): tiny, fast, and good enough to make test bytes.
public struct SplitMix64: RandomNumberGenerator, Sendable {
    private var state: UInt64

    public init(seed: UInt64) { state = seed }

    public mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
