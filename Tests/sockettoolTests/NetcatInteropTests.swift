// NetcatInteropTests.swift -- 50 MB of random bytes through sockettool's relay and the real netcats
// (OpenBSD nc, ncat, socat), in every pairing: sockettool connecting or listening, sending or
// receiving, the peer half-closing first or sockettool first. The SHA-256 of what arrived must equal the
// file's, and both processes must exit 0.
//
// One pairing is absent on purpose: `nc -l -N < file` as the sender with sockettool's FIN first. nc in
// listen mode stops the moment its network input ends, with the rest of its stdin unsent (its
// readwrite() returns when "listen and net in gone"); no client can receive the file that way, so
// the receiving side is tested against nc with --recv-only, and "sockettool closes first" is tested
// against nc as a connecting sender instead.
import Foundation
import Glibc
import Testing

/// How a listening peer tells which port it is on.
enum PortSource: Sendable {
    /// sockettool's "Listening on 127.0.0.1:PORT" (stderr).
    case sockettool
    /// `nc -lv ... 0`: "Listening on localhost PORT".
    case ncVerbose
    /// `socat -d -d TCP-LISTEN:0`: "... listening on AF=2 127.0.0.1:PORT".
    case socat
    /// ncat cannot print the port 0 gave it: a held port is given, and "Listening on" awaited.
    case chosenFirst
}

/// One pairing: a listener script and a connector script (`{PORT}`, `{IN}`, `{OUT}` filled in; `$0` is
/// sockettool), and which file receives the bytes.
struct NetcatPairing: Sendable, CustomTestStringConvertible {
    let name: String
    let tool: String
    let listener: String
    let portSource: PortSource
    let connector: String

    var testDescription: String { name }

    static let st = "exec \"$0\""
    static let connect = "\(st) connect 127.0.0.1 {PORT} -m - -q"
    static let listen = "\(st) listen 127.0.0.1 0 -q"

    static let all: [NetcatPairing] = [
        // sockettool connects and sends.
        .init(
            name: "connect sends to ncat -l; ncat closes first",
            tool: "ncat",
            listener: "exec ncat -lv 127.0.0.1 {PORT} </dev/null >{OUT}",
            portSource: .chosenFirst,
            connector: "\(connect) <{IN}"
        ),
        .init(
            name: "connect sends to ncat -l; sockettool closes first",
            tool: "ncat",
            listener: "exec ncat -lv --recv-only 127.0.0.1 {PORT} >{OUT}",
            portSource: .chosenFirst,
            connector: "\(connect) <{IN}"
        ),
        .init(
            name: "connect sends to nc -l; nc closes first",
            tool: "nc",
            listener: "exec nc -lv -N 127.0.0.1 0 </dev/null >{OUT}",
            portSource: .ncVerbose,
            connector: "\(connect) <{IN}"
        ),
        .init(
            name: "connect sends to nc -l; sockettool closes first",
            tool: "nc",
            listener: "exec nc -lv 127.0.0.1 0 </dev/null >{OUT}",
            portSource: .ncVerbose,
            connector: "\(connect) <{IN}"
        ),
        .init(
            name: "connect sends to socat; socat closes first",
            tool: "socat",
            listener: "exec socat -d -d -t 120 TCP-LISTEN:0,bind=127.0.0.1 STDIO </dev/null >{OUT}",
            portSource: .socat,
            connector: "\(connect) <{IN}"
        ),
        .init(
            name: "connect sends to socat; sockettool closes first",
            tool: "socat",
            listener: "exec socat -d -d -u TCP-LISTEN:0,bind=127.0.0.1 STDOUT >{OUT}",
            portSource: .socat,
            connector: "\(connect) <{IN}"
        ),
        // sockettool connects and receives.
        .init(
            name: "connect receives from ncat -l; ncat closes first",
            tool: "ncat",
            listener: "exec ncat -lv 127.0.0.1 {PORT} <{IN} >/dev/null",
            portSource: .chosenFirst,
            connector: "\(connect) --recv-only >{OUT}"
        ),
        .init(
            name: "connect receives from ncat -l; sockettool closes first",
            tool: "ncat",
            listener: "exec ncat -lv --send-only 127.0.0.1 {PORT} <{IN}",
            portSource: .chosenFirst,
            connector: "\(connect) </dev/null >{OUT}"
        ),
        .init(
            name: "connect receives from nc -l; nc closes first",
            tool: "nc",
            listener: "exec nc -lv -N 127.0.0.1 0 <{IN} >/dev/null",
            portSource: .ncVerbose,
            connector: "\(connect) --recv-only >{OUT}"
        ),
        .init(
            name: "connect receives from socat; socat closes first",
            tool: "socat",
            listener: "exec socat -d -d -t 120 TCP-LISTEN:0,bind=127.0.0.1 STDIO <{IN} >/dev/null",
            portSource: .socat,
            connector: "\(connect) --recv-only >{OUT}"
        ),
        .init(
            name: "connect receives from socat; sockettool closes first",
            tool: "socat",
            listener: "exec socat -d -d -t 120 TCP-LISTEN:0,bind=127.0.0.1 STDIO <{IN} >/dev/null",
            portSource: .socat,
            connector: "\(connect) </dev/null >{OUT}"
        ),
        // sockettool listens and receives.
        .init(
            name: "listen receives from ncat; ncat closes first",
            tool: "ncat",
            listener: "\(listen) --recv-only >{OUT}",
            portSource: .sockettool,
            connector: "exec ncat 127.0.0.1 {PORT} <{IN} >/dev/null"
        ),
        .init(
            name: "listen receives from ncat; sockettool closes first",
            tool: "ncat",
            listener: "\(listen) </dev/null >{OUT}",
            portSource: .sockettool,
            connector: "exec ncat 127.0.0.1 {PORT} <{IN} >/dev/null"
        ),
        .init(
            name: "listen receives from nc; nc closes first",
            tool: "nc",
            listener: "\(listen) --recv-only >{OUT}",
            portSource: .sockettool,
            connector: "exec nc -N 127.0.0.1 {PORT} <{IN} >/dev/null"
        ),
        .init(
            name: "listen receives from nc; sockettool closes first",
            tool: "nc",
            listener: "\(listen) </dev/null >{OUT}",
            portSource: .sockettool,
            connector: "exec nc -N 127.0.0.1 {PORT} <{IN} >/dev/null"
        ),
        .init(
            name: "listen receives from socat; socat closes first",
            tool: "socat",
            listener: "\(listen) --recv-only >{OUT}",
            portSource: .sockettool,
            connector: "exec socat -t 120 STDIO TCP:127.0.0.1:{PORT} <{IN} >/dev/null"
        ),
        .init(
            name: "listen receives from socat; sockettool closes first",
            tool: "socat",
            listener: "\(listen) </dev/null >{OUT}",
            portSource: .sockettool,
            connector: "exec socat -t 120 STDIO TCP:127.0.0.1:{PORT} <{IN} >/dev/null"
        ),
        // sockettool listens and sends.
        .init(
            name: "listen sends to ncat; ncat closes first",
            tool: "ncat",
            listener: "\(listen) <{IN}",
            portSource: .sockettool,
            connector: "exec ncat 127.0.0.1 {PORT} </dev/null >{OUT}"
        ),
        .init(
            name: "listen sends to ncat; sockettool closes first",
            tool: "ncat",
            listener: "\(listen) <{IN}",
            portSource: .sockettool,
            connector: "exec ncat --recv-only 127.0.0.1 {PORT} >{OUT}"
        ),
        .init(
            name: "listen sends to nc; nc closes first",
            tool: "nc",
            listener: "\(listen) <{IN}",
            portSource: .sockettool,
            connector: "exec nc -N 127.0.0.1 {PORT} </dev/null >{OUT}"
        ),
        .init(
            name: "listen sends to nc; sockettool closes first",
            tool: "nc",
            listener: "\(listen) <{IN}",
            portSource: .sockettool,
            connector: "exec nc 127.0.0.1 {PORT} </dev/null >{OUT}"
        ),
        .init(
            name: "listen sends to socat; socat closes first",
            tool: "socat",
            listener: "\(listen) <{IN}",
            portSource: .sockettool,
            connector: "exec socat -t 120 STDIO TCP:127.0.0.1:{PORT} </dev/null >{OUT}"
        ),
        .init(
            name: "listen sends to socat; sockettool closes first",
            tool: "socat",
            listener: "\(listen) <{IN}",
            portSource: .sockettool,
            connector: "exec socat -u TCP:127.0.0.1:{PORT} STDOUT >{OUT}"
        ),
        // sockettool on both ends.
        .init(
            name: "connect sends to listen; the listener closes first",
            tool: "sockettool",
            listener: "\(listen) </dev/null >{OUT}",
            portSource: .sockettool,
            connector: "\(connect) <{IN}"
        ),
        .init(
            name: "listen sends to connect; the connector closes first",
            tool: "sockettool",
            listener: "\(listen) <{IN}",
            portSource: .sockettool,
            connector: "\(connect) </dev/null >{OUT}"
        ),
    ]
}

/// The 50 MB of random bytes every pairing sends, and their SHA-256: made once per test process (the
/// pairings run in parallel and only read it), removed when the process exits.
private final class SharedInput: Sendable {
    let path: String
    let sha256: String?

    static let size = 50_000_000
    static let shared = SharedInput()

    private init() {
        path = "/tmp/sockettool-netcat-input-\(getpid()).bin"
        let random = open("/dev/urandom", O_RDONLY | O_CLOEXEC)
        let out = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o600)
        var buffer = [UInt8](repeating: 0, count: 1 << 20)
        var left = Self.size
        while left > 0 {
            let got = buffer.withUnsafeMutableBytes { read(random, $0.baseAddress, min($0.count, left)) }
            precondition(got > 0)
            precondition(buffer.withUnsafeBytes { write(out, $0.baseAddress, got) } == got)
            left -= got
        }
        close(random)
        close(out)
        sha256 = try? sockettoolTests.sha256(ofFile: path)
        atexit { unlink(SharedInput.shared.path) }
    }
}

@Suite("netcat interop: 50 MB through every pairing with nc, ncat and socat, SHA-256 equal")
struct NetcatInteropTests {
    static let size = SharedInput.size

    // Each tool's pairings are skipped, with the reason, where .ci/run has not installed it.
    @Test(
        "with OpenBSD nc",
        .enabled(if: NetcatTools.ncIsOpenBSD && NetcatTools.sha256sum != nil, "needs OpenBSD nc and sha256sum"),
        arguments: NetcatPairing.all.filter { $0.tool == "nc" }
    )
    func nc(pairing: NetcatPairing) throws { try transfer(pairing) }

    @Test(
        "with ncat",
        .enabled(if: NetcatTools.ncat != nil && NetcatTools.sha256sum != nil, "needs ncat and sha256sum"),
        arguments: NetcatPairing.all.filter { $0.tool == "ncat" }
    )
    func ncat(pairing: NetcatPairing) throws { try transfer(pairing) }

    @Test(
        "with socat",
        .enabled(if: NetcatTools.socat != nil && NetcatTools.sha256sum != nil, "needs socat and sha256sum"),
        arguments: NetcatPairing.all.filter { $0.tool == "socat" }
    )
    func socat(pairing: NetcatPairing) throws { try transfer(pairing) }

    @Test(
        "sockettool on both ends",
        .enabled(if: NetcatTools.sha256sum != nil, "needs sha256sum"),
        arguments: NetcatPairing.all.filter { $0.tool == "sockettool" }
    )
    func itself(pairing: NetcatPairing) throws { try transfer(pairing) }

    private func transfer(_ pairing: NetcatPairing) throws {
        let scratch = try ScratchDirectory()
        let input = SharedInput.shared.path
        let output = scratch.file("out.bin")
        // ncat cannot print the port 0 gave it: a held port (bound, never listening) it may listen on.
        let held = pairing.portSource == .chosenFirst ? try HeldPort() : nil
        let chosen = held?.port ?? 0
        func fill(_ template: String, port: UInt16) -> String {
            template.replacingOccurrences(of: "{PORT}", with: String(port))
                .replacingOccurrences(of: "{IN}", with: input)
                .replacingOccurrences(of: "{OUT}", with: output)
        }
        let listener = try shell(fill(pairing.listener, port: chosen))
        let port = try listener.waitForStderr { line in Self.port(in: line, source: pairing.portSource, chosen: chosen)
        }
        let connector = try shell(fill(pairing.connector, port: port))
        let connectorStatus = try connector.waitForExit(timeout: .seconds(120))
        let listenerStatus = try listener.waitForExit(timeout: .seconds(120))
        withExtendedLifetime(held) {}
        #expect(connectorStatus == 0, "connector: \(connector.transcript)")
        #expect(listenerStatus == 0, "listener: \(listener.transcript)")
        let expected = try #require(SharedInput.shared.sha256)
        let got = try sha256(ofFile: output)
        #expect(got == expected, "\(fileSize(output)) of \(Self.size) bytes arrived")
    }

    static func port(in line: String, source: PortSource, chosen: UInt16) -> UInt16? {
        switch source {
        case .sockettool:
            guard line.hasPrefix("Listening on") else { return nil }
            return UInt16(line.split(separator: ":").last ?? "")
        case .ncVerbose:
            guard line.hasPrefix("Listening on") else { return nil }
            return UInt16(line.split(separator: " ").last ?? "")
        case .socat:
            guard line.contains("listening on") else { return nil }
            return UInt16(line.split(separator: ":").last ?? "")
        case .chosenFirst:
            return line.contains("Listening on") ? chosen : nil
        }
    }
}
