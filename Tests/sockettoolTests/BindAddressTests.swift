// BindAddressTests.swift -- every stream server refuses, before bind(), an address no client could reach
// it on: exit 73 with a hint, instead of "Listening on 224.0.0.1" or a bare "Invalid argument" (71).
import Foundation
import SocketCore
import Testing

@Suite("servers refuse multicast, broadcast and unscoped link-local addresses")
struct BindAddressTests {
    static let servers: [[String]] = [["serve", "app"], ["serve", "multi"], ["serve", "echo"], ["flood", "serve"]]

    @Test(
        "multicast and broadcast: exit 73, one error line naming the address, nothing listening",
        arguments: servers,
        ["224.0.0.1", "255.255.255.255", "ff02::1"]
    )
    func notUnicast(command: [String], host: String) throws {
        let run = try ChildProcess.sockettool(command + [host, "0"], timeout: .seconds(10))
        #expect(run.status == 73, "\(run.stdout)\n\(run.stderr)")
        #expect(run.stderr.contains("error: cannot listen on \(host): it is "), "\(run.stderr)")
        #expect(run.stderr.contains("hint: use 127.0.0.1, 0.0.0.0, ::"), "\(run.stderr)")
        #expect(!run.stdout.contains("Listening on"), "\(run.stdout)")
    }

    @Test("fe80::1 without %interface: exit 73 and a hint about the interface, not 71 'Invalid argument'")
    func linkLocalWithoutScope() throws {
        let run = try ChildProcess.sockettool(["serve", "app", "fe80::1", "0"], timeout: .seconds(10))
        #expect(run.status == 73, "\(run.stdout)\n\(run.stderr)")
        #expect(
            run.stderr.contains(
                "error: cannot listen on fe80::1: a link-local address needs the interface it belongs to"
            ),
            "\(run.stderr)"
        )
        #expect(run.stderr.contains("hint: add the interface after a %, as in 'fe80::1%eth0'"), "\(run.stderr)")
        #expect(!run.stderr.contains("Invalid argument"), "\(run.stderr)")
    }

    @Test("--json: the error event carries its kind")
    func jsonKind() throws {
        let run = try ChildProcess.sockettool(["serve", "app", "224.0.0.1", "0", "--json"], timeout: .seconds(10))
        #expect(run.status == 73)
        let events = jsonLines(run.stdout)
        #expect(events.last?["kind"] as? String == "not_unicast", "\(run.stdout)")
    }
}
