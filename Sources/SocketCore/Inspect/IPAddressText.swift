// IPAddressText.swift -- IPv4 and IPv6 addresses from their bytes, written exactly as glibc's inet_ntop
// writes them (so they compare with ss and tshark), without a system call.

/// Address text for the kernel's tables and the packet decoder.
enum IPAddressText {
    /// "127.0.0.1" from four bytes.
    static func ipv4(_ bytes: ArraySlice<UInt8>) -> String {
        bytes.prefix(4).map { String($0) }.joined(separator: ".")
    }

    /// "::1", "fe80::1", "::ffff:127.0.0.1" from sixteen bytes: the longest run of two or more zero
    /// words becomes "::" (the first, on a tie), hex in lower case without leading zeros, and an IPv4
    /// address mapped (::ffff:0:0/96) or compatible (::/96) in dotted form, as inet_ntop does.
    static func ipv6(_ bytes: ArraySlice<UInt8>) -> String {
        let raw = Array(bytes.prefix(16)) + [UInt8](repeating: 0, count: max(0, 16 - bytes.count))
        let words = (0..<8).map { UInt16(raw[2 * $0]) << 8 | UInt16(raw[2 * $0 + 1]) }
        var best = (start: -1, length: 0)
        var current = (start: -1, length: 0)
        for (index, word) in words.enumerated() {
            if word == 0 {
                current = current.start < 0 ? (index, 1) : (current.start, current.length + 1)
                if current.length > best.length { best = current }
            } else {
                current = (-1, 0)
            }
        }
        if best.length < 2 { best = (-1, 0) }
        var text = ""
        var index = 0
        while index < 8 {
            if index == best.start {
                text += index == 0 ? "::" : ":"
                index += best.length
                continue
            }
            // An IPv4 address in the last 32 bits of ::/96 or ::ffff:0:0/96.
            if index == 6 && best.start == 0 && (best.length == 6 || (best.length == 5 && words[5] == 0xFFFF)) {
                text += ipv4(raw[12..<16])
                break
            }
            text += String(words[index], radix: 16)
            index += 1
            if index < 8 { text += ":" }
        }
        return text
    }

    /// `host:port`, IPv6 as `[host]:port`; port nil writes `*` (a listener's unconnected peer).
    static func endpoint(_ host: String, isIPv6: Bool, port: UInt16?) -> String {
        let portText = port.map { String($0) } ?? "*"
        return isIPv6 ? "[\(host)]:\(portText)" : "\(host):\(portText)"
    }
}
