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

/// Parses a client's port: 1-65535 (port 0 means "any free port" only when listening).
func parseServerPort(_ text: String) throws -> UInt16 {
    let port = try parsePort(text)
    guard port != 0 else {
        throw ValidationError("Port 0 lets a server pick a free port; a client needs the server's port (1 to 65535).")
    }
    return port
}

/// "127.0.0.1:65432" or "[::1]:65432" given as the host: a usage error naming the two arguments.
func refuseHostWithPort(_ host: String?) throws {
    guard let host, let (name, port) = Diagnosis.hostWithPort(host) else { return }
    throw ValidationError("Host and port are separate arguments: '\(name) \(port)', not '\(host)'.")
}

/// The host as a shell argument in a hint: '' stays visible.
func shellWord(_ host: String) -> String { host.isEmpty ? "''" : host }

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
    func validate() throws {
        try refuseHostWithPort(host)
        _ = try resolved()
    }

    /// The host and port after applying the defaults and the one-number rule.
    func resolved() throws -> (host: String?, port: UInt16) {
        if port == nil, let host, looksLikePort(host) { return (nil, try parsePort(host)) }
        return (host, try port.map(parsePort) ?? guidePort)
    }

    /// True when HOST or PORT was given (socket activation then says it does not use them).
    var isGiven: Bool { host != nil || port != nil }

    /// The address to bind (never one no client could reach: see BindAddressCheck).
    func address() throws -> SocketAddress {
        let (host, port) = try resolved()
        let address = try AddressResolver.serverAddress(host: host, port: port)
        try BindAddressCheck.checkStreamServer(address)
        return address
    }
}

/// `[HOST] [PORT]` for a client: default 127.0.0.1 65432.
struct ClientEndpoint: ParsableArguments {
    @Argument(help: ArgumentHelp("Server name or address (IPv4, IPv6). Default: 127.0.0.1.", valueName: "host"))
    var host: String?

    @Argument(help: ArgumentHelp("Server port. Default: 65432.", valueName: "port"))
    var port: String?

    /// A bad port is a usage error (64), found while parsing, not when the command runs.
    func validate() throws {
        try refuseHostWithPort(host)
        _ = try resolved()
    }

    /// Host and port, after the defaults and the one-number rule.
    func resolved() throws -> (host: String, port: UInt16) {
        if port == nil, let host, looksLikePort(host) { return ("127.0.0.1", try parseServerPort(host)) }
        return (host ?? "127.0.0.1", try port.map(parseServerPort) ?? guidePort)
    }

    /// Every address the host resolves to, in the order to try them.
    func target() throws -> DialTarget {
        let (host, port) = try resolved()
        return DialTarget(addresses: try AddressResolver.clientAddresses(host: host, port: port))
    }
}
