// TraceCLITests.swift -- `sockettool trace` against the real tshark on the same exchange, its pcap read
// back by tshark -r, its conclusion (who keeps TIME_WAIT) against the kernel's table, and the privilege
// rules: no capture without CAP_NET_RAW (exit 77), a capture with it, --read with nothing.
import Foundation
import Glibc
import SocketCore
import TestSupport
import Testing

@Suite("trace: loopback packets as tshark shows them")
struct TraceCLITests {
    static let hasTshark = installedTool("tshark") != nil
    /// CI runs as root: capturing needs root or CAP_NET_RAW.
    static let canCapture = ChildProcess.isRoot

    /// tshark's fields for one TCP packet, the same ones trace's JSON carries.
    struct Fields: Equatable, CustomStringConvertible {
        var ports: String
        var flags: Int
        var seq: Int
        var ack: Int?
        var win: Int
        var len: Int
        var description: String {
            "\(ports) flags=0x\(String(flags, radix: 16)) seq=\(seq) ack=\(ack.map(String.init) ?? "-") win=\(win) len=\(len)"
        }

        /// From tshark -T fields: srcport|dstport|flags|seq|ack|window_size|len.
        init?(tshark line: String) {
            let parts = line.split(separator: "|", omittingEmptySubsequences: false).map(String.init)
            guard parts.count == 7, let flags = Int(parts[2].dropFirst(2), radix: 16), let seq = Int(parts[3]),
                let win = Int(parts[5]), let len = Int(parts[6])
            else { return nil }
            ports = "\(parts[0])→\(parts[1])"
            self.flags = flags
            self.seq = seq
            self.ack = flags & 0x10 != 0 ? Int(parts[4]) : nil
            self.win = win
            self.len = len
        }

        /// From a trace "packet" event.
        init?(trace event: [String: Any]) {
            guard let source = event["source"] as? String, let destination = event["destination"] as? String,
                let names = event["flags"] as? [String], let seq = event["seq"] as? Int, let win = event["win"] as? Int,
                let len = event["len"] as? Int
            else { return nil }
            ports = "\(source.split(separator: ":").last ?? "")→\(destination.split(separator: ":").last ?? "")"
            let bits = [
                "FIN": 0x01, "SYN": 0x02, "RST": 0x04, "PSH": 0x08, "ACK": 0x10, "URG": 0x20, "ECE": 0x40, "CWR": 0x80,
            ]
            flags = names.reduce(0) { $0 | (bits[$1] ?? 0x100) }
            self.seq = seq
            ack = event["ack"] as? Int
            self.win = win
            self.len = len
        }
    }

    static let tsharkFields = [
        "-n", "-T", "fields", "-E", "separator=|", "-e", "tcp.srcport", "-e", "tcp.dstport", "-e", "tcp.flags",
        "-e", "tcp.seq", "-e", "tcp.ack", "-e", "tcp.window_size", "-e", "tcp.len",
    ]

    private func temporaryDirectory() throws -> URL {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent(
            "trace-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
        )
        try FileManager.default.createDirectory(
            at: directory,
            withIntermediateDirectories: true,
            attributes: [.posixPermissions: 0o755]
        )
        return directory
    }

    /// Reads trace's JSON packets until the exchange is over: both FINs, then the ACK of the second one.
    private func packetsUntilClosed(_ trace: ChildProcess) throws -> [[String: Any]] {
        var packets: [[String: Any]] = []
        var fins: [(fromClient: Bool, seq: Int)] = []
        while true {
            let line = try trace.waitForLine(timeout: TestDeadline.generous) { $0.contains("\"event\": \"packet\"") }
            let packet = try #require(jsonLines(line).first)
            packets.append(packet)
            let fromClient = packet["direction"] as? String == "client_to_server"
            if (packet["flags"] as? [String] ?? []).contains("FIN"),
                !fins.contains(where: { $0.fromClient == fromClient })
            {
                fins.append((fromClient, packet["seq"] as? Int ?? 0))
            }
            if fins.count == 2, let second = fins.last, fromClient != second.fromClient,
                packet["ack"] as? Int == second.seq + 1
            {
                return packets
            }
        }
    }

    @Test(
        "one search captured by trace and by tshark at once: the same packets, flags, Seq/Ack, Win and Len; tshark -r reads the pcap",
        .enabled(if: canCapture && hasTshark, "needs root (CAP_NET_RAW) and tshark")
    )
    func matchesTshark() throws {
        let directory = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let pcap = directory.appendingPathComponent("search.pcap").path
        let plot = directory.appendingPathComponent("search.svg").path
        var watch = TimeWaitWatch()
        try withServer(["serve", "app", "127.0.0.1", "0"]) { _, port in
            // Traffic the capture must not see: another server, another port, at the same time.
            try withServer(["serve", "app", "127.0.0.1", "0"]) { _, otherPort in
                let tshark = try ChildProcess(
                    "tshark",
                    ["-i", "lo", "-f", "tcp port \(port)", "-l"] + Self.tsharkFields
                )
                let trace = try ChildProcess(
                    sockettool: ["trace", "--port", String(port), "--json", "--pcap", pcap, "--plot", plot]
                )
                #expect(eventually { tshark.stderrText.contains("Capturing on") }, "\(tshark.transcript)")
                _ = try trace.waitForLine { $0.contains("\"event\": \"capturing\"") }
                #expect(trace.stderrText.contains("Capturing on 'lo'"))
                let other = try ChildProcess.sockettool(["search", "127.0.0.1", String(otherPort), "ring"])
                let search = try ChildProcess.sockettool(["search", "127.0.0.1", String(port), "morpheus"])
                watch.closed()
                #expect(other.status == 0 && search.status == 0, "\(search.stderr)")

                let packets = try packetsUntilClosed(trace)
                trace.send(SIGINT)
                #expect(try trace.waitForExit() == 0, "Ctrl-C is how a capture ends")
                let rest = jsonLines(try trace.remainingLines().joined(separator: "\n"))
                let summary = try #require(rest.last { $0["event"] as? String == "summary" })
                #expect(summary["packets"] as? Int == packets.count)

                var tsharkLines: [String] = []
                #expect(
                    eventually {
                        while tsharkLines.count < packets.count,
                            let line = try? tshark.nextLine(timeout: .milliseconds(200))
                        {
                            tsharkLines.append(line)
                        }
                        return tsharkLines.count >= packets.count
                    },
                    "tshark saw \(tsharkLines.count) of \(packets.count) packets"
                )
                tshark.send(SIGINT)
                _ = try tshark.waitForExit()

                let ours = packets.compactMap { Fields(trace: $0) }
                let theirs = tsharkLines.compactMap { Fields(tshark: $0) }
                #expect(ours.count == packets.count && ours == theirs, "trace:\n\(ours)\ntshark:\n\(theirs)")
                #expect(!packets.contains { ($0["source"] as? String)?.hasSuffix(":\(otherPort)") == true })

                // The guide's two frames, decoded under the segments that carry them.
                let frames = packets.flatMap { ($0["frames"] as? [[String: Any]]) ?? [] }
                #expect(frames.map { $0["role"] as? String } == ["request", "response"])
                #expect(frames.map { $0["length"] as? Int } == [146, 148])
                #expect(frames.first?["meaning"] as? String == "search morpheus")
                let request = try #require(packets.first { ($0["frames"] as? [Any]) != nil })
                #expect(request["len"] as? Int == 146 && (request["flags"] as? [String]) == ["PSH", "ACK"])
                // The server sends its reply with MSG_MORE and closes at once: the FIN rides in the reply's segment.
                let response = try #require(packets.last { ($0["frames"] as? [Any]) != nil })
                #expect(response["len"] as? Int == 148 && (response["flags"] as? [String]) == ["FIN", "ACK"])
                #expect(packets.filter { ($0["flags"] as? [String] ?? []).contains("FIN") }.count == 2)

                // tshark reads trace's pcap and sees exactly the same packets.
                let reread = try ChildProcess.run("tshark", ["-r", pcap] + Self.tsharkFields)
                #expect(reread.status == 0, "\(reread.stderr)")
                #expect(reread.stdout.split(separator: "\n").compactMap { Fields(tshark: String($0)) } == theirs)

                // The ladder: one arrow per packet, from the side that sent it, with its flags and length.
                let ladder = try SVGDocument(contentsOf: plot)
                let arrows = ladder.elements(ofClass: "segment")
                #expect(arrows.count == packets.count)
                for (arrow, packet) in zip(arrows, packets) {
                    #expect(arrow.attributes["data-number"] == String(packet["number"] as? Int ?? -1))
                    let direction = packet["direction"] as? String == "client_to_server" ? "client" : "server"
                    #expect(arrow.attributes["data-from"] == direction)
                    #expect(arrow.attributes["data-flags"] == (packet["flags"] as? [String])?.joined(separator: ","))
                    #expect(arrow.attributes["data-len"] == String(packet["len"] as? Int ?? -1))
                }
                #expect(ladder.elements.contains { $0.text == "request: search morpheus, 146 B" })
                #expect(
                    ladder.elements(ofClass: "time-wait").count
                        == (try #require((summary["connections"] as? [[String: Any]])?.first?["time_wait"] as? [String]))
                        .count
                )

                // Who keeps TIME_WAIT, by trace's reckoning, is what the kernel's table says now.
                let connection = try #require((summary["connections"] as? [[String: Any]])?.first)
                let sides = try #require(connection["time_wait"] as? [String])
                #expect(!sides.isEmpty, "\(connection)")
                let waiting = try ChildProcess.sockettool([
                    "sockets", "--json", "--port", String(port), "--state", "time-wait",
                ])
                // This connection's TIME_WAITs only: another process may use the port number too.
                let ends = Set([connection["client"] as? String, connection["server"] as? String].compactMap { $0 })
                let locals = Set(
                    jsonLines(waiting.stdout).filter {
                        ends.contains($0["local"] as? String ?? "") && ends.contains($0["foreign"] as? String ?? "")
                    }.compactMap { $0["local"] as? String }
                )
                let expected = Set(sides.compactMap { connection[$0] as? String })
                watch.expect { #expect(locals == expected, "trace: \(connection), sockets: \(waiting.stdout)") }
            }
        }
    }

    @Test(
        "without CAP_NET_RAW: a clear error, the setcap hint, exit 77",
        .enabled(if: canCapture, "needs root to become nobody")
    )
    func withoutPrivilege() throws {
        let refused = try ChildProcess(unprivilegedSockettool: ["trace", "--port", "9", "--count", "1"])
        #expect(try refused.waitForExit() == 77)
        let stderr = refused.stderrText
        #expect(stderr.contains("error: socket(AF_PACKET on lo): Operation not permitted"), "\(stderr)")
        #expect(stderr.contains("CAP_NET_RAW") && stderr.contains("setcap cap_net_raw+ep"), "\(stderr)")
    }

    @Test(
        "the hint followed: with cap_net_raw on the binary, user nobody captures",
        .enabled(
            if: canCapture && installedTool("setcap") != nil && installedTool("setpriv") != nil,
            "needs root, setcap (libcap2-bin) and setpriv"
        )
    )
    func capabilityIsEnough() throws {
        let setcap = installedTool("setcap")!
        let setpriv = installedTool("setpriv")!
        let directory = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let copy = directory.appendingPathComponent("sockettool").path
        try FileManager.default.copyItem(atPath: ChildProcess.sockettool, toPath: copy)
        try FileManager.default.setAttributes([.posixPermissions: 0o755], ofItemAtPath: copy)
        let granted = try ChildProcess.run(setcap, ["cap_net_raw+ep", copy])
        #expect(granted.status == 0, "\(granted.stderr)")
        // A child another test spawns while the copy is being written inherits its descriptor for a moment,
        // and exec then fails with ETXTBSY: that is the suite's doing, so wait until the copy is free.
        var capture = (status: Int32(0), stdout: "", stderr: "")
        _ = try eventually {
            capture = try ChildProcess.run(
                setpriv,
                [
                    "--reuid=nobody", "--regid=nogroup", "--clear-groups", copy, "trace", "--port", "9", "--duration",
                    "0.2", "-q",
                ]
            )
            return !capture.stderr.contains("Text file busy")
        }
        #expect(capture.status == 0, "\(capture.stderr)")
        #expect(capture.stdout.hasPrefix("0 packets captured"), "\(capture.stdout)")
    }

    static let fixture = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("Fixtures/search-exchange.pcap").path

    @Test("--read as nobody: a saved capture needs no privilege")
    func readsSavedCapture() throws {
        let child = try ChildProcess(unprivilegedSockettool: ["trace", "--read", Self.fixture, "--json"])
        #expect(try child.waitForExit() == 0, "\(child.stderrText)")
        let events = jsonLines(try child.remainingLines().joined(separator: "\n"))
        let packets = events.filter { $0["event"] as? String == "packet" }
        #expect(packets.count == 10)
        #expect(events.last?["event"] as? String == "summary")
        #expect(events.last?["packets"] as? Int == 10)
    }

    @Test("--read ... --plot as nobody: the saved exchange drawn, one arrow per packet")
    func plotsSavedCapture() throws {
        let directory = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        try FileManager.default.setAttributes([.posixPermissions: 0o777], ofItemAtPath: directory.path)
        let plot = directory.appendingPathComponent("search.svg").path
        let child = try ChildProcess(unprivilegedSockettool: ["trace", "--read", Self.fixture, "--plot", plot, "-q"])
        #expect(try child.waitForExit() == 0, "\(child.stderrText)")
        #expect(child.stderrText.contains("Ladder diagram written to \(plot)"))
        let ladder = try SVGDocument(contentsOf: plot)
        #expect(
            ladder.elements(ofClass: "segment").map { $0.attributes["data-from"] ?? "?" } == [
                "client", "server", "client", "client", "server", "server", "client", "server", "client", "server",
            ]
        )
        #expect(ladder.elements(ofClass: "time-wait").first?.attributes["data-side"] == "server")
    }

    @Test(
        "--read of the pcapng tshark writes: the same packets and times as the pcap",
        .enabled(if: hasTshark, "needs tshark to write a pcapng")
    )
    func readsPcapng() throws {
        let fixture = Self.fixture
        let packets = jsonLines(try ChildProcess.sockettool(["trace", "--read", fixture, "--json"]).stdout)
            .filter { $0["event"] as? String == "packet" }
        let directory = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let pcapng = directory.appendingPathComponent("search.pcapng").path
        let converted = try ChildProcess.run("tshark", ["-r", fixture, "-w", pcapng, "-F", "pcapng"])
        #expect(converted.status == 0, "\(converted.stderr)")
        let again = try ChildProcess.sockettool(["trace", "--read", pcapng, "--json"])
        let fromPcapng = jsonLines(again.stdout).filter { $0["event"] as? String == "packet" }
        #expect(fromPcapng.compactMap { Fields(trace: $0) } == packets.compactMap { Fields(trace: $0) })
        #expect(fromPcapng.map { $0["time"] as? Double } == packets.map { $0["time"] as? Double })
    }

    @Test("usage errors: --count 0, --read with --pcap; an unreadable file fails clearly")
    func usage() throws {
        #expect(try ChildProcess.sockettool(["trace", "--count", "0"]).status == 64)
        #expect(try ChildProcess.sockettool(["trace", "--read", "a.pcap", "--pcap", "b.pcap"]).status == 64)
        let notCapture = try ChildProcess.sockettool(["trace", "--read", #filePath])
        #expect(
            notCapture.status == 1 && notCapture.stderr.contains("not a pcap or pcapng file"),
            "\(notCapture.stderr)"
        )
    }
}
