// Endpoint.swift -- the HOST and PORT arguments, with the guide's defaults and rules, and the flags that
// say how to reach them (-4, -6, --source): one endpoint model for every server and client command.
import ArgumentParser
import SocketCore

/// The port every guide example uses.
let guidePort: UInt16 = 65432

/// Which protocol's service names a port may be: a command's names are TCP's unless --udp is given;
/// `either` before the command knows (an option group's own validation).
enum PortTransport: Equatable {
    /// A name /etc/services lists for TCP or UDP.
    case either
    /// A TCP command without --udp (serve app, probe, ...).
    case tcpOnly
    /// A command that has --udp, without it.
    case tcp
    /// --udp given.
    case udp

    init(udp: Bool) { self = udp ? .udp : .tcp }

    /// The transport names are looked up for; nil for `either`.
    var service: ServiceTransport? {
        switch self {
        case .either: nil
        case .tcpOnly, .tcp: .tcp
        case .udp: .udp
        }
    }
}

/// Parses a port: 0-65535, or a service name from the system's services list for `transport` ("http" is
/// 80; "tftp" is 69 for UDP and no TCP port at all).
func parsePort(_ text: String, for transport: PortTransport = .tcpOnly) throws -> UInt16 {
    if let port = UInt16(text) { return port }
    if !isPortNumber(text), !text.hasPrefix("-") {
        guard let wanted = transport.service else {
            if let port = AddressResolver.servicePort(text) ?? AddressResolver.servicePort(text, for: .udp) {
                return port
            }
            throw notAPort(text)
        }
        if let port = AddressResolver.servicePort(text, for: wanted) { return port }
        if let port = AddressResolver.servicePort(text, for: wanted.other) {
            throw serviceOfTheOtherTransport(text, port: port, for: transport)
        }
    }
    throw notAPort(text)
}

private func notAPort(_ text: String) -> ValidationError {
    ValidationError(
        isPortNumber(text) || text.hasPrefix("-")
            ? "'\(text)' is not a port: use a number from 0 to 65535 (0 lets the system pick a free one)."
            : "'\(text)' is not a port: use a number from 0 to 65535, or a service name from /etc/services "
                + "(such as http)."
    )
}

/// "'tftp' is a UDP service": what to do about a name the services list has for the other transport only.
private func serviceOfTheOtherTransport(_ text: String, port: UInt16, for transport: PortTransport) -> ValidationError {
    let listed = transport == .udp ? ServiceTransport.tcp : .udp
    let what = "'\(text)' is a \(listed.name) service (\(port)/\(listed.rawValue) in /etc/services)"
    switch transport {
    case .udp: return ValidationError("\(what), not a UDP one: drop --udp, or give UDP port \(port) as a number.")
    case .tcp: return ValidationError("\(what), not a TCP one: add --udp, or give TCP port \(port) as a number.")
    case .tcpOnly, .either:
        return ValidationError("\(what), and this command speaks TCP: give TCP port \(port) as a number.")
    }
}

/// Parses a client's port: 1-65535 or a service name (port 0 means "any free port" only when listening).
func parseServerPort(_ text: String, for transport: PortTransport = .tcpOnly) throws -> UInt16 {
    let port = try parsePort(text, for: transport)
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

/// True for text written as a port number (digits), in range or not.
func isPortNumber(_ text: String) -> Bool {
    !text.isEmpty && text.allSatisfy(\.isNumber) && text.count <= 5
}

/// True for a lone HOST-or-PORT argument that is the port: digits, or a service name the system's services
/// list knows for TCP or UDP (`listen discard`, as `nc -l http`; `connect --udp tftp`). Any other name
/// stays a host.
func looksLikePort(_ text: String) -> Bool {
    isPortNumber(text) || (!text.hasPrefix("-") && (try? parsePort(text, for: .either)) != nil)
}

/// An endpoint that cannot work as given, found when the command runs (after resolving).
struct EndpointError: Error, CustomStringConvertible {
    let message: String
    let hint: String?
    let exitStatus: Int32
    let kind: String

    var description: String { message }
}

/// --unix PATH replaces HOST PORT, and IP's -4/-6/--source do not apply to it.
func validateUnix(_ path: String, hostOrPortGiven: Bool, families: FamilyFlags, source: String? = nil) throws {
    if hostOrPortGiven { throw ValidationError("--unix PATH replaces HOST and PORT: give one or the other.") }
    if families.family != .any { throw ValidationError("-4 and -6 choose an IP family; a Unix socket has none.") }
    if source != nil { throw ValidationError("--source is an IP address to connect from; drop it with --unix.") }
    _ = try unixAddress(path)
}

/// The Unix socket address of `path`: a usage error when the path cannot be one.
func unixAddress(_ path: String) throws -> SocketAddress {
    guard let address = SocketAddress(unixPath: path) else {
        throw ValidationError(
            "--unix '\(path)': a Unix socket path has 1 to \(SocketAddress.maximumUnixPathLength) bytes; use a "
                + "shorter one (a relative path counts from the current directory)."
        )
    }
    return address
}

/// `-4` / `-6`: resolve, listen and connect in one IP family only.
struct FamilyFlags: ParsableArguments {
    @Flag(name: .customShort("4"), help: "IPv4 only: a name resolves to its IPv4 addresses alone.")
    var ipv4Only = false

    @Flag(name: .customShort("6"), help: "IPv6 only: a name resolves to its IPv6 addresses alone.")
    var ipv6Only = false

    func validate() throws {
        if ipv4Only && ipv6Only { throw ValidationError("Choose one of -4 and -6.") }
    }

    /// The family names may resolve to.
    var family: IPFamily { ipv4Only ? .ipv4 : ipv6Only ? .ipv6 : .any }
}

/// `[HOST] [PORT]` for a server: no host means loopback only; a single number is the port.
struct ServerEndpoint: ParsableArguments {
    @Argument(
        help: ArgumentHelp(
            "Address to listen on: a name, an IPv4 or IPv6 address; '', 0.0.0.0 or :: for every interface. Default: 127.0.0.1 (this machine only; ::1 with -6).",
            valueName: "host"
        )
    )
    var host: String?

    @Argument(
        help: ArgumentHelp(
            "Port or service name (http); 0 picks a free port and prints it. Default: 65432.",
            valueName: "port"
        )
    )
    var port: String?

    @OptionGroup var families: FamilyFlags

    @Option(
        name: .customLong("unix"),
        help: ArgumentHelp(
            "Listen on a Unix domain socket at this path instead of HOST PORT. A stale socket file there (nothing "
                + "listening) is replaced, any other file never; the server removes its file when it exits.",
            valueName: "path"
        )
    )
    var unixPath: String?

    /// A bad port is a usage error (64), found while parsing, not when the command runs.
    func validate() throws {
        if let unixPath { try validateUnix(unixPath, hostOrPortGiven: host != nil || port != nil, families: families) }
        try refuseHostWithPort(host)
        _ = try resolved(for: .either)
    }

    /// The host and port after applying the defaults and the one-number rule; a service name is read for
    /// `transport` (a name of the other one is a usage error that says what to do).
    func resolved(for transport: PortTransport = .tcpOnly) throws -> (host: String?, port: UInt16) {
        if port == nil, let host, looksLikePort(host) { return (nil, try parsePort(host, for: transport)) }
        return (host, try port.map { try parsePort($0, for: transport) } ?? guidePort)
    }

    /// True when HOST or PORT (or --unix) was given (socket activation then says it does not use them).
    var isGiven: Bool { host != nil || port != nil || unixPath != nil }

    /// The address to bind (never one no client could reach: see BindAddressCheck). A name that resolves
    /// is reported with every address it gave and the one bound: a client that resolves the same name may
    /// try another one first (the guide's "Using Hostnames" warning).
    func address(log: EventLog, for transport: PortTransport = .tcpOnly) throws -> SocketAddress {
        if let unixPath { return try unixAddress(unixPath) }
        let (host, port) = try resolved(for: transport)
        let addresses = try AddressResolver.serverAddresses(host: host, port: port, family: families.family)
        let address = addresses[0]
        try BindAddressCheck.checkStreamServer(address)
        if let host, !host.isEmpty, !AddressResolver.isNumeric(host) {
            reportResolution(of: host, to: addresses, binding: address, log: log)
        }
        return address
    }

    private func reportResolution(of host: String, to addresses: [SocketAddress], binding: SocketAddress, log: EventLog)
    {
        let names = addresses.map(\.host)
        var text = "'\(host)' resolved to \(names.joined(separator: ", ")); listening on \(binding.host)"
        if addresses.count > 1 {
            text += " only: a client that tries '\(host)' as \(names[1]) is refused (give the address, or -4/-6)"
        }
        switch log.format {
        case .json:
            log.event(
                "resolved",
                level: .quiet,
                text: text,
                fields: [
                    ("host", .string(host)), ("addresses", .array(names.map { .string($0) })),
                    ("bound", .string(binding.host)),
                ]
            )
        case .text: log.notice(text)
        }
    }
}

/// `-4`, `-6` and `--source`: how a client reaches its server, the same for every client command.
struct DialFlags: ParsableArguments {
    @OptionGroup var families: FamilyFlags

    @Option(
        help: ArgumentHelp(
            "Local address to connect from, bound before connect: ADDR, ADDR:PORT or [IPv6]:PORT (no port: the "
                + "kernel picks one). Only server addresses of its family are tried.",
            valueName: "addr[:port]"
        )
    )
    var source: String?

    @Option(
        name: .customLong("unix"),
        help: ArgumentHelp("Connect to the Unix domain socket at this path instead of HOST PORT.", valueName: "path")
    )
    var unixPath: String?

    func validate() throws {
        if let source { _ = try Self.splitSource(source) }
    }

    /// Checks --unix against the HOST PORT arguments a command was given.
    func validate(hostOrPortGiven: Bool) throws {
        if let unixPath {
            try validateUnix(unixPath, hostOrPortGiven: hostOrPortGiven, families: families, source: source)
        }
    }

    /// Every address `host` resolves to (in -4/-6's family), in the order to try them, and the source.
    ///
    /// - Throws: `ResolutionError`, or a `ValidationError` when the source is of a family none of the
    ///   server's addresses has.
    func target(host: String, port: UInt16) throws -> DialTarget {
        if let unixPath { return DialTarget(try unixAddress(unixPath)) }
        return try Self.target(host: host, port: port, source: source, family: families.family)
    }

    /// Every address `host` resolves to (in `family`), and `source` (`--source`'s text, whose port
    /// is kept unless `anySourcePort`) resolved to an address of their family: the IP part of `target`,
    /// shared with probe.
    static func target(
        host: String,
        port: UInt16,
        source: String?,
        family: IPFamily,
        anySourcePort: Bool = false
    ) throws -> DialTarget {
        let addresses = try AddressResolver.clientAddresses(host: host, port: port, family: family)
        guard let source else { return DialTarget(addresses: addresses) }
        let (sourceHost, sourcePort) = try splitSource(source)
        let candidates = try AddressResolver.serverAddresses(
            host: sourceHost,
            port: anySourcePort ? 0 : sourcePort,
            family: family
        )
        guard let local = candidates.first(where: { candidate in addresses.contains { $0.family == candidate.family } })
        else {
            throw EndpointError(
                message: "--source \(source) is \(candidates.map(\.host).joined(separator: ", ")), but '\(host)' "
                    + "resolved to \(addresses.map(\.host).joined(separator: ", ")) only",
                hint: "a socket bound to an address of one IP family cannot reach the other: give a source of the "
                    + "server's family",
                exitStatus: ExitStatus.usage,
                kind: "source_family"
            )
        }
        return DialTarget(addresses: addresses, source: local)
    }

    /// "ADDR", "ADDR:PORT", "[v6]:PORT" or a bare IPv6 address, as host and port (0: any).
    static func splitSource(_ text: String) throws -> (host: String, port: UInt16) {
        if text.hasPrefix("["), let close = text.firstIndex(of: "]") {
            let host = String(text[text.index(after: text.startIndex)..<close])
            let rest = text[text.index(after: close)...]
            guard rest.isEmpty || rest.hasPrefix(":") else {
                throw ValidationError("--source '\(text)': write an IPv6 source as [ADDR]:PORT or ADDR.")
            }
            return (host, rest.isEmpty ? 0 : try parsePort(String(rest.dropFirst()), for: .either))
        }
        let colons = text.filter { $0 == ":" }.count
        guard colons == 1, let colon = text.firstIndex(of: ":") else { return (text, 0) }
        return (String(text[..<colon]), try parsePort(String(text[text.index(after: colon)...]), for: .either))
    }
}

/// `[HOST] [PORT]` for a client: default 127.0.0.1 65432.
struct ClientEndpoint: ParsableArguments {
    @Argument(help: ArgumentHelp("Server name or address (IPv4, IPv6). Default: 127.0.0.1.", valueName: "host"))
    var host: String?

    @Argument(help: ArgumentHelp("Server port or service name (http). Default: 65432.", valueName: "port"))
    var port: String?

    @OptionGroup var dial: DialFlags

    /// A bad port is a usage error (64), found while parsing, not when the command runs.
    func validate() throws {
        try dial.validate(hostOrPortGiven: host != nil || port != nil)
        try refuseHostWithPort(host)
        _ = try resolved(for: .either)
    }

    /// Host and port, after the defaults and the one-number rule; a service name is read for `transport`.
    func resolved(for transport: PortTransport = .tcpOnly) throws -> (host: String, port: UInt16) {
        if port == nil, let host, looksLikePort(host) {
            return ("127.0.0.1", try parseServerPort(host, for: transport))
        }
        return (host ?? "127.0.0.1", try port.map { try parseServerPort($0, for: transport) } ?? guidePort)
    }

    /// How the server's command line reads in a hint: `HOST PORT` or `--unix PATH`.
    var serverArguments: String {
        if let path = dial.unixPath { return "--unix \(path)" }
        guard let (host, port) = try? resolved(for: .either) else { return "HOST PORT" }
        return "\(shellWord(host)) \(port)"
    }

    /// Every address the host resolves to, in the order to try them, and --source.
    func target(for transport: PortTransport = .tcpOnly) throws -> DialTarget {
        let (host, port) = try resolved(for: transport)
        return try dial.target(host: host, port: port)
    }
}
