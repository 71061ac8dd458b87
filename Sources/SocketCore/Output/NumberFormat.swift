// NumberFormat.swift -- numbers for people, without String(format:) (which pulls ICU into the binary).

/// Fixed-point and byte-size formatting.
public enum NumberFormat {
    /// `value` with exactly `decimals` digits after the point: fixed(3.14159, 2) == "3.14".
    public static func fixed(_ value: Double, decimals: Int) -> String {
        guard value.isFinite else { return value.isNaN ? "nan" : (value < 0 ? "-inf" : "inf") }
        var scale = 1.0
        for _ in 0..<decimals { scale *= 10 }
        let negative = value < 0
        let scaled = (abs(value) * scale).rounded()
        guard scaled < 9e18 else { return "\(value)" }
        let whole = UInt64(scaled)
        let integerPart = whole / UInt64(scale)
        var text = (negative && whole > 0 ? "-" : "") + String(integerPart)
        if decimals > 0 {
            let fraction = String(whole % UInt64(scale))
            text += "." + String(repeating: "0", count: decimals - fraction.count) + fraction
        }
        return text
    }

    /// 1536 -> "1.5 KiB", 3_000_000 -> "2.9 MiB"; below 1 KiB, "512 B".
    public static func bytes(_ count: Int) -> String {
        let units = ["B", "KiB", "MiB", "GiB", "TiB"]
        var value = Double(count)
        var unit = 0
        while abs(value) >= 1024 && unit < units.count - 1 {
            value /= 1024
            unit += 1
        }
        return unit == 0 ? "\(count) B" : "\(fixed(value, decimals: value < 10 ? 2 : 1)) \(units[unit])"
    }

    /// 1234567 -> "1,234,567".
    public static func grouped(_ value: Int) -> String {
        let digits = String(value.magnitude)
        var result = ""
        for (index, digit) in digits.enumerated() {
            if index > 0 && (digits.count - index) % 3 == 0 { result.append(",") }
            result.append(digit)
        }
        return (value < 0 ? "-" : "") + result
    }

    /// Seconds as "1.234 s", or "12.3 ms" / "456 µs" below a second.
    public static func duration(nanoseconds: UInt64) -> String {
        let seconds = Double(nanoseconds) / 1e9
        if seconds >= 1 { return fixed(seconds, decimals: 3) + " s" }
        if seconds >= 1e-3 { return fixed(seconds * 1e3, decimals: 2) + " ms" }
        return fixed(seconds * 1e6, decimals: 0) + " µs"
    }
}
