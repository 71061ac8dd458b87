// EndpointCLITests.swift -- the endpoint flags through the binary: service names, -4/-6, --source, a server
// given a name saying what it resolved to, and every client mode reaching a server when the name's first
// address has no listener (a name made to resolve to ::1 then 127.0.0.1 in a mount namespace of its own).
import Foundation
import Glibc
import SocketCore
import Testing

@testable import sockettool

@Suite("endpoints through the binary: service names, -4/-6, --source, names with two addresses")
struct EndpointCLITests {
    @Test("a service name is a port: 'http' is 80, and a name the services list lacks is a usage error")
    func serviceNamePorts() throws {
        let unknown = try ChildProcess.sockettool(["connect", "127.0.0.1", "no-such-service"])
        #expect(unknown.status == 64, "\(unknown.stderr)")
        #expect(unknown.stderr.contains("'no-such-service' is not a port"), "\(unknown.stderr)")
        #expect(unknown.stderr.contains("/etc/services"), "\(unknown.stderr)")
        guard AddressResolver.servicePort("http") == 80 else { return }
        // Port 80 is not ours to serve on: what matters is that the client dialled it.
        let http = try ChildProcess.sockettool(["connect", "127.0.0.1", "http", "--connect-timeout", "2"])
        #expect(http.status == 0 || http.stderr.contains("127.0.0.1:80"), "\(http.stderr)")
    }

    @Test("a service name as the only argument is the port (listen discard, as nc -l http); other names are hosts")
    func loneServiceName() throws {
        guard let discard = AddressResolver.servicePort("discard") else { return }
        let server = try ServerEndpoint.parse(["discard"]).resolved()
        #expect(server.host == nil && server.port == discard)
        let client = try ClientEndpoint.parse(["discard"]).resolved()
        #expect(client.host == "127.0.0.1" && client.port == discard)
        let host = try ClientEndpoint.parse(["localhost"]).resolved()
        #expect(host.host == "localhost" && host.port == guidePort)
        #expect(looksLikePort("65432") && !looksLikePort("no-such-service") && !looksLikePort("-x"))
        // Port 9 is not ours to serve on: what matters is that the client dialled it, not a host 'discard'.
        let run = try ChildProcess.sockettool(["connect", "discard", "--connect-timeout", "2"])
        #expect(!run.stderr.contains("cannot resolve"), "\(run.stderr)")
        #expect(run.status == 0 || run.stderr.contains("127.0.0.1:\(discard)"), "\(run.stderr)")
    }

    @Test(
        "a name /etc/services lists for UDP only is a port with --udp, and a usage error saying so without it",
        .enabled(if: ServicesFile.listedForOnly("udp") != nil, "/etc/services lists no name for UDP only here")
    )
    func udpOnlyServiceName() throws {
        let (name, port) = try #require(ServicesFile.listedForOnly("udp"))
        #expect(AddressResolver.servicePort(name, for: .udp) == port)
        #expect(AddressResolver.servicePort(name) == nil)
        #expect(try Connect.parse(["--udp", "127.0.0.1", name]).endpoint.resolved(for: .udp).port == port)
        let listening = try Listen.parse(["--udp", name]).endpoint.resolved(for: .udp)
        #expect(listening.host == nil && listening.port == port)
        // The datagram goes to that port on loopback: refused (nothing there), or answered; never a usage error.
        let udp = try ChildProcess.sockettool(["connect", "--udp", "127.0.0.1", name, "-m", "x", "--timeout", "1"])
        #expect(udp.status != 64, "\(udp.stderr)")
        #expect(udp.status == 0 || udp.stderr.contains("127.0.0.1:\(port)"), "\(udp.stderr)")
        let tcp = try ChildProcess.sockettool(["connect", "127.0.0.1", name])
        #expect(tcp.status == 64, "\(tcp.stderr)")
        #expect(
            tcp.stderr.contains(
                "error: '\(name)' is a UDP service (\(port)/udp in /etc/services), not a TCP one: add --udp"
            ),
            "\(tcp.stderr)"
        )
        // A command without --udp says what it speaks, before it listens.
        let server = try ChildProcess.sockettool(["serve", "app", name])
        #expect(server.status == 64, "\(server.stderr)")
        #expect(
            server.stderr.contains("and this command speaks TCP: give TCP port \(port) as a number"),
            "\(server.stderr)"
        )
        #expect(server.stderr.contains("Usage: sockettool serve app"), "\(server.stderr)")
    }

    @Test(
        "a name /etc/services lists for TCP only is a usage error with --udp, naming the flag to drop",
        .enabled(if: ServicesFile.listedForOnly("tcp") != nil, "/etc/services lists no name for TCP only here")
    )
    func tcpOnlyServiceNameWithUDP() throws {
        let (name, port) = try #require(ServicesFile.listedForOnly("tcp"))
        for arguments in [["listen", "--udp", "0", name], ["serve", "echo", "--udp", name]] {
            let run = try ChildProcess.sockettool(arguments)
            #expect(run.status == 64, "\(arguments): \(run.stderr)")
            #expect(
                run.stderr.contains(
                    "'\(name)' is a TCP service (\(port)/tcp in /etc/services), not a UDP one: drop --udp"
                ),
                "\(arguments): \(run.stderr)"
            )
        }
    }

    @Test("--source ADDR and ADDR:PORT: the server sees the connection come from there")
    func sourceAddress() throws {
        try withServer(["serve", "multi", "127.0.0.1", "0"]) { server, port in
            let run = try ChildProcess.sockettool(["connect", "127.0.0.1", String(port), "--source", "127.0.0.2"])
            #expect(run.status == 0, "\(run.stderr)")
            let accepted = try server.waitForLine { $0.hasPrefix("Accepted connection from ") }
            #expect(accepted.hasPrefix("Accepted connection from 127.0.0.2:"), "\(accepted)")
            // An echo server is no app server, so the search fails: what is checked is where it came from.
            _ = try ChildProcess.sockettool(
                ["search", "127.0.0.1", String(port), "x", "--source", "127.0.0.3:0", "--count", "2", "-q"]
            )
            _ = try server.waitForLine { $0.hasPrefix("Accepted connection from 127.0.0.3:") }
        }
    }

    @Test("probe --source and flood send --source: bound before connect, the server sees that address")
    func sourceForProbeAndFlood() throws {
        try withServer(["serve", "multi", "127.0.0.1", "0"]) { server, port in
            let probe = try ChildProcess.sockettool(["probe", "127.0.0.1", String(port), "--source", "127.0.0.2"])
            #expect(probe.status == 0, "\(probe.stderr)")
            #expect(probe.stdout == "127.0.0.1:\(port) open", "\(probe.stdout)")
            _ = try server.waitForLine { $0.hasPrefix("Accepted connection from 127.0.0.2:") }
        }
        // flood serve never reads, so the sender's buffers fill and the run ends by itself.
        try withServer(["flood", "serve", "127.0.0.1", "0"]) { server, port in
            let flood = try ChildProcess.sockettool(
                ["flood", "send", "-4", "127.0.0.1", String(port), "--source", "127.0.0.3", "-q"]
            )
            #expect(flood.status == 0, "\(flood.stderr)")
            _ = try server.waitForLine { $0.hasPrefix("Accepted connection from 127.0.0.3:") }
            server.send(SIGTERM)
            _ = try server.waitForExit()
        }
    }

    @Test("-4/-6/--source where they cannot apply are usage errors (exit 64), never silently ignored")
    func dialFlagsRefused() throws {
        let cases: [[String]] = [
            ["probe", "127.0.0.1", "1", "--source", "127.0.0.2:4000"],
            ["probe", "--unix", "/tmp/x.sock", "127.0.0.1", "1"],
            ["flood", "send", "--source", "127.0.0.2"],
            ["flood", "send", "-6"],
            ["flood", "send", "127.0.0.1", "1", "--unix", "/tmp/x.sock"],
        ]
        for arguments in cases {
            let run = try ChildProcess.sockettool(arguments)
            #expect(run.status == 64, "\(arguments): \(run.stderr)")
        }
    }

    @Test("--source of the other family: exit 64 saying why, before any connection")
    func sourceOfTheOtherFamily() throws {
        let run = try ChildProcess.sockettool(["connect", "127.0.0.1", "1", "--source", "::1"])
        #expect(run.status == 64, "\(run.stderr)")
        #expect(run.stderr.contains("error: --source ::1 is ::1, but '127.0.0.1' resolved to 127.0.0.1 only"))
    }

    @Test(
        "-4 and -6 refuse an address of the other family (exit 68, with a hint naming the flag)",
        arguments: [
            ["serve", "multi", "-4", "::1", "0"], ["connect", "-6", "127.0.0.1", "1"],
            ["search", "-4", "::1", "1", "x"],
        ]
    )
    func familyFlags(arguments: [String]) throws {
        let run = try ChildProcess.sockettool(arguments)
        #expect(run.status == 68, "\(run.stderr)")
        #expect(run.stderr.contains("hint: -4 and -6 keep one IP family"), "\(run.stderr)")
    }

    @Test("-4 and -6 together are a usage error")
    func bothFamilies() throws {
        let run = try ChildProcess.sockettool(["serve", "app", "-4", "-6", "0"])
        #expect(run.status == 64)
        #expect(run.stderr.contains("Choose one of -4 and -6."), "\(run.stderr)")
    }

    @Test("a server given a name says what it resolved to and which address it bound")
    func serverReportsResolution() throws {
        try withServer(["serve", "multi", "localhost", "0"]) { server, _ in
            #expect(
                eventually { server.stderrText.contains("notice: 'localhost' resolved to ") },
                "\(server.transcript)"
            )
            #expect(server.stderrText.contains("; listening on "), "\(server.transcript)")
        }
    }

    // MARK: - A name with two addresses, the first refusing

    /// `unshare -m` and `mount --bind` over /etc/hosts, so a name can resolve to ::1 then 127.0.0.1 for one
    /// command without touching the machine's own file.
    static let unshare = NetcatTools.path("unshare")
    static let canRemapHosts: Bool = {
        guard let unshare else { return false }
        let run = try? ChildProcess.run(
            unshare,
            ["-m", "sh", "-c", "mount --bind /etc/hosts /etc/hosts"],
            timeout: .seconds(20)
        )
        return run?.status == 0 && IPv6Loopback.isAvailable
    }()

    /// Runs sockettool with `twohost` resolving to ::1 first, then 127.0.0.1.
    static func withTwoAddressName(
        _ arguments: [String],
        input: String? = nil
    ) throws -> (status: Int32, stdout: String, stderr: String) {
        let directory = try ScratchDirectory()
        let hosts = directory.path + "/hosts"
        try "::1 twohost\n127.0.0.1 twohost\n127.0.0.1 localhost\n".write(
            toFile: hosts,
            atomically: true,
            encoding: .utf8
        )
        let script = "mount --bind \"$0\" /etc/hosts && exec \"$@\""
        return try withExtendedLifetime(directory) {
            try ChildProcess.run(
                unshare!,
                ["-m", "sh", "-c", script, hosts, ChildProcess.sockettool] + arguments,
                input: input
            )
        }
    }

    @Test(
        "every client mode reaches a server on the name's second address when the first refuses",
        .enabled(if: canRemapHosts, "needs unshare -m and mount --bind (root or a user namespace) and ::1"),
        arguments: [
            ["connect", "twohost", "PORT"],
            ["connect", "twohost", "PORT", "--conns", "3"],
            ["connect", "twohost", "PORT", "--duration", "0.3", "--conns", "2"],
            ["connect", "twohost", "PORT", "-m", "-"],
        ]
    )
    func echoModesFallBack(template: [String]) throws {
        try withServer(["serve", "multi", "127.0.0.1", "0", "-q"]) { _, port in
            let arguments = template.map { $0 == "PORT" ? String(port) : $0 }
            let run = try Self.withTwoAddressName(arguments, input: "relayed\n")
            #expect(run.status == 0, "\(arguments): \(run.stderr)")
            if arguments.contains("-") { #expect(run.stdout == "relayed", "\(run.stdout)") }
        }
    }

    @Test(
        "search and its load mode reach an app server on the name's second address",
        .enabled(if: canRemapHosts, "needs unshare -m and mount --bind (root or a user namespace) and ::1"),
        arguments: [[], ["--count", "5", "--concurrency", "2"]]
    )
    func searchFallsBack(extra: [String]) throws {
        try withServer(["serve", "app", "127.0.0.1", "0", "-q"]) { _, port in
            let run = try Self.withTwoAddressName(["search", "twohost", String(port), "morpheus", "-q"] + extra)
            #expect(run.status == 0, "\(run.stderr)")
        }
    }

    @Test(
        "a server given that name binds its first address and names both; -4 binds the IPv4 one",
        .enabled(if: canRemapHosts, "needs unshare -m and mount --bind (root or a user namespace) and ::1"),
        arguments: [([String](), "::1", "[::1]"), (["-4"], "127.0.0.1", "127.0.0.1")]
    )
    func serverNamesBothAddresses(flags: [String], bound: String, listening: String) throws {
        let directory = try ScratchDirectory()
        let hosts = directory.path + "/hosts"
        try "::1 twohost\n127.0.0.1 twohost\n".write(toFile: hosts, atomically: true, encoding: .utf8)
        let server = try ChildProcess(
            Self.unshare!,
            ["-m", "sh", "-c", "mount --bind \"$0\" /etc/hosts && exec \"$@\"", hosts, ChildProcess.sockettool]
                + ["serve", "multi", "twohost", "0"] + flags
        )
        let line = try server.waitForLine { $0.hasPrefix("Listening on ") }
        #expect(line.hasPrefix("Listening on \(listening):"), "\(line)")
        let resolved = flags.isEmpty ? "::1, 127.0.0.1" : "127.0.0.1"
        #expect(
            eventually {
                server.stderrText.contains("notice: 'twohost' resolved to \(resolved); listening on \(bound)")
            },
            "\(server.transcript)"
        )
        if flags.isEmpty {
            #expect(server.stderrText.contains("a client that tries 'twohost' as 127.0.0.1 is refused"))
        }
        withExtendedLifetime(directory) {}
    }
}

/// /etc/services read as text, not through getservbyname: an independent answer to "which names are listed
/// for one transport only".
enum ServicesFile {
    /// A name listed for `transport` ("tcp" or "udp") and not the other, and its port: tftp or ssh when they
    /// are such names, else the first in the file.
    static func listedForOnly(_ transport: String) -> (name: String, port: UInt16)? {
        guard let text = try? String(contentsOfFile: "/etc/services", encoding: .utf8) else { return nil }
        var entries: [String: (port: UInt16, transports: Set<String>)] = [:]
        var order: [String] = []
        for line in text.split(separator: "\n") {
            let fields = line.prefix { $0 != "#" }.split(whereSeparator: { $0 == " " || $0 == "\t" })
            guard fields.count >= 2 else { continue }
            let parts = fields[1].split(separator: "/")
            guard parts.count == 2, let port = UInt16(parts[0]) else { continue }
            for name in [fields[0]] + fields.dropFirst(2) {
                let key = String(name)
                if entries[key] == nil { order.append(key) }
                entries[key, default: (port, [])].transports.insert(String(parts[1]))
            }
        }
        let only = order.filter { entries[$0]?.transports == [transport] }
        let preferred = ["tftp", "ssh"].first { only.contains($0) } ?? only.first
        return preferred.flatMap { name in entries[name].map { (name, $0.port) } }
    }
}
