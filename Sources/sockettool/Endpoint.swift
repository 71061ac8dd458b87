// Endpoint.swift -- the HOST and PORT arguments, with the guide's defaults and rules.
import ArgumentParser
import SocketCore

/// The port every guide example uses.
let guidePort: UInt16 = 65432

/// Parses a port: 0-65535.
func parsePort(_ text: String) throws -> UInt16 {
    guard let port = UInt16(text) else {
        throw ValidationError(
            "'\(text)' is not a port: use a number from 0 to 65535 (0 lets the system pick a free one)."
        )
    }
    return port
}

/// True for text that can only be a port.
func looksLikePort(_ text: String) -> Bool {
    !text.isEmpty && text.allSatisfy(\.isNumber) && text.count <= 5
}

/// `[HOST] [PORT]` for a server: no host means loopback only; a single number is the port.
struct ServerEndpoint: ParsableArguments {
    @Argument(
        help: ArgumentHelp(
            "Address to listen on: a name, an IPv4 or IPv6 address; '', 0.0.0.0 or :: for every interface. Default: 127.0.0.1 (this machine only).",
            valueName: "host"
        )
    )
    var host: String?

    @Argument(help: ArgumentHelp("Port; 0 picks a free port and prints it. Default: 65432.", valueName: "port"))
    var port: String?

    /// A bad port is a usage error (64), found while parsing, not when the command runs.
    func validate() throws { _ = try resolved() }

    /// The host and port after applying the defaults and the one-number rule.
    func resolved() throws -> (host: String?, port: UInt16) {
        if port == nil, let host, looksLikePort(host) { return (nil, try parsePort(host)) }
        return (host, try port.map(parsePort) ?? guidePort)
    }

    /// The address to bind.
    func address() throws -> SocketAddress {
        let (host, port) = try resolved()
        return try AddressResolver.serverAddress(host: host, port: port)
    }
}

/// `[HOST] [PORT]` for a client: default 127.0.0.1 65432.
struct ClientEndpoint: ParsableArguments {
    @Argument(help: ArgumentHelp("Server name or address (IPv4, IPv6). Default: 127.0.0.1.", valueName: "host"))
    var host: String?

    @Argument(help: ArgumentHelp("Server port. Default: 65432.", valueName: "port"))
    var port: String?

    /// A bad port is a usage error (64), found while parsing, not when the command runs.
    func validate() throws { _ = try resolved() }

    /// Host and port, after the defaults and the one-number rule.
    func resolved() throws -> (host: String, port: UInt16) {
        if port == nil, let host, looksLikePort(host) { return ("127.0.0.1", try parsePort(host)) }
        return (host ?? "127.0.0.1", try port.map(parsePort) ?? guidePort)
    }

    /// Every address the host resolves to.
    func addresses() throws -> [SocketAddress] {
        let (host, port) = try resolved()
        return try AddressResolver.clientAddresses(host: host, port: port)
    }
}
