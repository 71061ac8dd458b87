// HappyEyeballs.swift -- the order a client tries a name's addresses in (RFC 8305 section 4): the families
// interleaved, starting with the family the resolver put first, so one broken family costs a client only
// the delay between attempts, never a whole connect timeout.

/// RFC 8305's address ordering and its connection attempt delay.
public enum HappyEyeballs {
    /// The delay before the next address is tried while an attempt is still in flight (RFC 8305's
    /// recommended Connection Attempt Delay).
    public static let attemptDelay: Duration = .milliseconds(250)

    /// The addresses in the order to try them: the resolver's order within each family (getaddrinfo has
    /// sorted them by RFC 6724), the families alternating from the first one's. Duplicates are dropped.
    public static func order(_ addresses: [SocketAddress]) -> [SocketAddress] {
        var unique: [SocketAddress] = []
        for address in addresses where !unique.contains(address) { unique.append(address) }
        guard let first = unique.first else { return [] }
        let preferred = unique.filter { $0.family == first.family }
        let others = unique.filter { $0.family != first.family }
        var ordered: [SocketAddress] = []
        ordered.reserveCapacity(unique.count)
        for index in 0..<max(preferred.count, others.count) {
            if index < preferred.count { ordered.append(preferred[index]) }
            if index < others.count { ordered.append(others[index]) }
        }
        return ordered
    }
}
