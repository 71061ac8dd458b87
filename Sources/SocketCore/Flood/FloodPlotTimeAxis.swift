// FloodPlotTimeAxis.swift -- flood's plot's time axis: linear near 0, logarithmic after a knee, so the fill
// (the kernel takes megabytes within milliseconds) and the long wait for the quiet period that follows are
// both visible. On a linear axis a 6 ms fill in a 0.6 s run is a vertical edge at the origin.

/// x = log(1 + t/knee) / log(1 + tMax/knee) of the width: t = 0 at the left, tMax at the right, and about
/// linear below the knee.
public struct FloodPlotTimeAxis: Sendable {
    public let knee: Double
    public let maximum: Double

    /// The knee is a quarter of the time to the first EAGAIN (so the fill spreads over a good part of the
    /// axis), kept between 10 µs and 10 ms; 1 ms when send() never said EAGAIN.
    public init(maximum: Double, firstWouldBlock: Double?) {
        self.maximum = max(maximum, 1e-6)
        knee = min(max((firstWouldBlock ?? 0.004) / 4, 1e-5), 1e-2)
    }

    /// Where `seconds` falls, from 0 (left) to 1 (right).
    public func fraction(_ seconds: Double) -> Double {
        Self.naturalLog(1 + max(seconds, 0) / knee) / Self.naturalLog(1 + maximum / knee)
    }

    /// Tick positions: 0, then every power of ten from the knee's decade up to the maximum.
    public var ticks: [Double] {
        var result = [0.0]
        var tick = 1e-5
        while tick < knee * 0.999 { tick *= 10 }
        while tick <= maximum * 1.000001 {
            result.append(tick)
            tick *= 10
        }
        return result
    }

    /// "0", "10 µs", "1 ms", "0.1 s", "1 s", "10 s".
    public static func label(_ seconds: Double) -> String {
        if seconds == 0 { return "0" }
        if seconds >= 1 { return NumberFormat.fixed(seconds, decimals: 0) + " s" }
        if seconds >= 0.1 { return NumberFormat.fixed(seconds, decimals: 1) + " s" }
        if seconds >= 1e-3 { return NumberFormat.fixed(seconds * 1e3, decimals: 0) + " ms" }
        return NumberFormat.fixed(seconds * 1e6, decimals: 0) + " µs"
    }

    /// ln(x) for x > 0 without the C library: x = m · 2^e with m in [1, 2), ln m = 2 atanh((m-1)/(m+1)).
    public static func naturalLog(_ x: Double) -> Double {
        guard x > 0, x.isFinite else { return 0 }
        let exponent = Double(x.exponent)
        let m = x.significand
        let z = (m - 1) / (m + 1)
        let z2 = z * z
        var term = z
        var sum = 0.0
        var k = 1.0
        while k < 60 {
            sum += term / k
            term *= z2
            k += 2
        }
        return exponent * 0.693_147_180_559_945_3 + 2 * sum
    }
}
