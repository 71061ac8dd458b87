// ThroughputFormat.swift -- bytes and bit rates the way iperf3 prints them ("1.57 GBytes", "6.72 Gbits/sec"),
// so a user can hold sockettool's throughput lines next to iperf3's.

/// iperf3's adaptive units (its `unit_snprintf` with 'A' and 'a'): bytes in powers of 1024, bits per second
/// in powers of 1000, always four significant places.
public enum ThroughputFormat {
    private static let byteUnits = ["Bytes", "KBytes", "MBytes", "GBytes", "TBytes"]
    private static let bitUnits = ["bits", "Kbits", "Mbits", "Gbits", "Tbits"]

    /// 1_685_000_000 -> "1.57 GBytes"; 785_408 -> " 767 KBytes".
    public static func bytes(_ count: Int) -> String {
        scaled(Double(count), base: 1024, units: byteUnits)
    }

    /// 6.72e9 -> "6.72 Gbits/sec".
    public static func bitRate(_ bitsPerSecond: Double) -> String {
        scaled(bitsPerSecond, base: 1000, units: bitUnits) + "/sec"
    }

    /// Bits per second of `bytes` moved in `nanoseconds` (0 when no time passed).
    public static func bitsPerSecond(bytes: Int, nanoseconds: UInt64) -> Double {
        nanoseconds == 0 ? 0 : Double(bytes) * 8e9 / Double(nanoseconds)
    }

    /// The value in the largest unit that keeps it under `base`, printed in four places as iperf3 does:
    /// "1.23", "12.3", " 123", "1000".
    private static func scaled(_ value: Double, base: Double, units: [String]) -> String {
        var number = value
        var unit = 0
        while number >= base && unit < units.count - 1 {
            number /= base
            unit += 1
        }
        let decimals = number < 9.995 ? 2 : number < 99.95 ? 1 : 0
        return padded(NumberFormat.fixed(number, decimals: decimals), width: 4) + " " + units[unit]
    }

    /// `text` right-aligned in `width` columns (printf's "%4s").
    public static func padded(_ text: String, width: Int) -> String {
        text.count >= width ? text : String(repeating: " ", count: width - text.count) + text
    }
}
