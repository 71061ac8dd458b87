// MonotonicClock.swift -- nanoseconds since an arbitrary point, never going backwards (CLOCK_MONOTONIC).
import Glibc

/// Monotonic time in nanoseconds: for deadlines, intervals and latency, never for wall-clock time.
public enum MonotonicClock {
    /// Now, in nanoseconds. The corresponding C function is `clock_gettime(CLOCK_MONOTONIC)`.
    @inline(__always)
    public static func now() -> UInt64 {
        var time = timespec()
        clock_gettime(CLOCK_MONOTONIC, &time)
        return UInt64(time.tv_sec) &* 1_000_000_000 &+ UInt64(time.tv_nsec)
    }
}

extension Duration {
    /// This duration in whole nanoseconds, clamped to 0 ... UInt64.max.
    public var nanoseconds: UInt64 {
        let (seconds, attoseconds) = components
        if seconds < 0 { return 0 }
        let (whole, overflow) = UInt64(seconds).multipliedReportingOverflow(by: 1_000_000_000)
        if overflow { return .max }
        return whole.addingReportingOverflow(UInt64(attoseconds / 1_000_000_000)).overflow
            ? .max : whole + UInt64(attoseconds / 1_000_000_000)
    }

    /// A duration from seconds given as a Double (command-line flags), clamped to 0 ... 9e9 s (285 years);
    /// NaN is 0, so no value can trap in the conversion.
    public static func seconds(fromDouble value: Double) -> Duration {
        guard value > 0 else { return .zero }
        return .nanoseconds(Int64(min(value, 9e9) * 1e9))
    }
}
