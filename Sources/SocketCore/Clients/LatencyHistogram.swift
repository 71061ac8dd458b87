// LatencyHistogram.swift -- latencies in log-linear buckets (HdrHistogram's layout): constant memory, any
// number of samples, percentiles within 1/32 (3.1 %) of the true value.

/// A histogram of durations in nanoseconds.
public struct LatencyHistogram: Sendable {
    /// Values below this are exact; above, each power of two has subBucketCount / 2 linear sub-buckets,
    /// so a percentile is within 2 / subBucketCount (1/32) of the true value.
    private static let subBucketBits = 6
    private static let subBucketCount = 1 << subBucketBits
    private var counts = [UInt64](repeating: 0, count: (64 - subBucketBits + 1) * (1 << subBucketBits))
    public private(set) var count: UInt64 = 0
    public private(set) var minimum: UInt64 = .max
    public private(set) var maximum: UInt64 = 0
    private var sum: Double = 0

    public init() {}

    /// Records one duration.
    public mutating func record(_ nanoseconds: UInt64) {
        counts[Self.index(of: nanoseconds)] += 1
        count += 1
        minimum = min(minimum, nanoseconds)
        maximum = max(maximum, nanoseconds)
        sum += Double(nanoseconds)
    }

    /// Adds another histogram's samples (one per worker, merged at the end).
    public mutating func merge(_ other: LatencyHistogram) {
        for index in counts.indices { counts[index] += other.counts[index] }
        count += other.count
        minimum = min(minimum, other.minimum)
        maximum = max(maximum, other.maximum)
        sum += other.sum
    }

    /// The mean, in nanoseconds (0 when empty).
    public var mean: Double { count == 0 ? 0 : sum / Double(count) }

    /// The value at or below which `percent` of samples fall (the bucket's upper edge, capped at the
    /// maximum seen); 0 when empty.
    public func percentile(_ percent: Double) -> UInt64 {
        guard count > 0 else { return 0 }
        let rank = max(1, UInt64((percent / 100 * Double(count)).rounded(.up)))
        var seen: UInt64 = 0
        for index in counts.indices where counts[index] > 0 {
            seen += counts[index]
            if seen >= rank { return min(Self.upperEdge(of: index), maximum) }
        }
        return maximum
    }

    /// Bucket of a value: values below subBucketCount map one to one; above, each power of two is split
    /// into subBucketCount / 2 linear sub-buckets.
    private static func index(of value: UInt64) -> Int {
        if value < UInt64(subBucketCount) { return Int(value) }
        let magnitude = 63 - value.leadingZeroBitCount  // >= subBucketBits
        let shift = magnitude - (subBucketBits - 1)
        let subBucket = Int(value >> UInt64(shift))  // in subBucketCount/2 ..< subBucketCount
        return (shift + 1) * (subBucketCount / 2) + subBucket
    }

    private static func upperEdge(of index: Int) -> UInt64 {
        if index < subBucketCount { return UInt64(index) }
        let half = subBucketCount / 2
        let shift = index / half - 2
        let subBucket = index - (shift + 1) * half
        return (UInt64(subBucket + 1) << UInt64(shift)) - 1
    }
}
