// DialTarget.swift -- where a client connects: every address to try, in the order to try them, and the
// local address to bind first.

/// The addresses a client dials, already in Happy Eyeballs order, and its `--source`.
public struct DialTarget: Sendable, Equatable {
    /// In the order to try them (never empty).
    public let addresses: [SocketAddress]
    /// The local address each attempt binds before connecting; nil lets the kernel choose.
    public let source: SocketAddress?

    /// - Parameters:
    ///   - addresses: As the resolver gave them; they are put in RFC 8305 order. Must not be empty.
    ///   - source: Bound before connect. Addresses of another family than the source's are left out (a socket
    ///     bound to an IPv4 address cannot reach an IPv6 one); the caller makes sure one is left.
    public init(addresses: [SocketAddress], source: SocketAddress? = nil) {
        let usable = source.map { source in addresses.filter { $0.family == source.family } } ?? addresses
        precondition(!usable.isEmpty, "a dial target needs an address")
        self.addresses = HappyEyeballs.order(usable)
        self.source = source
    }

    /// One address.
    public init(_ address: SocketAddress) {
        self.init(addresses: [address])
    }

    /// The address messages name before any has answered: the first one tried.
    public var first: SocketAddress { addresses[0] }
}
