// NetcatPeers.swift -- the real netcats (OpenBSD nc, nmap's ncat, socat) as test peers: where they are,
// how each says which port it listens on, and shell pipelines with files on both ends, checked by
// SHA-256 (sha256sum, independent of sockettool).
import Foundation
import Glibc
import Testing

/// The installed peer tools; a test whose tool is missing is skipped with a message.
enum NetcatTools {
    static func path(_ name: String) -> String? {
        ["/usr/bin/", "/bin/", "/usr/local/bin/"].map { $0 + name }.first {
            FileManager.default.isExecutableFile(atPath: $0)
        }
    }

    static let nc = path("nc")
    static let ncat = path("ncat")
    static let socat = path("socat")
    static let sha256sum = path("sha256sum")
    /// True when `nc` is OpenBSD's (Debian's netcat-openbsd), whose -N and -l the tests use.
    static let ncIsOpenBSD: Bool = {
        guard let nc else { return false }
        let run = try? ChildProcess.run(nc, ["-h"], timeout: .seconds(10))
        return (run?.stderr ?? "").contains("OpenBSD netcat") || (run?.stdout ?? "").contains("OpenBSD netcat")
    }()
}

/// A scratch directory for one test, removed at the end.
final class ScratchDirectory {
    let path: String

    init() throws {
        var template = Array("/tmp/sockettool-netcat-XXXXXX".utf8CString)
        guard template.withUnsafeMutableBufferPointer({ mkdtemp($0.baseAddress!) }) != nil else {
            throw POSIXError(.init(rawValue: errno) ?? .EIO)
        }
        path = template.withUnsafeBufferPointer { String(cString: $0.baseAddress!) }
    }

    deinit {
        try? FileManager.default.removeItem(atPath: path)
    }

    /// `name` inside the directory.
    func file(_ name: String) -> String { path + "/" + name }
}

/// The SHA-256 of a file, as `sha256sum` prints it (hex); nil if it could not be computed.
func sha256(ofFile path: String) throws -> String? {
    guard let tool = NetcatTools.sha256sum else { return nil }
    let run = try ChildProcess.run(tool, [path], timeout: .seconds(60))
    guard run.status == 0 else { return nil }
    return run.stdout.split(separator: " ").first.map(String.init)
}

/// The size of a file, for failure messages.
func fileSize(_ path: String) -> Int {
    ((try? FileManager.default.attributesOfItem(atPath: path))?[.size] as? Int) ?? -1
}

extension ChildProcess {
    /// Waits until stderr has a line for which `parse` gives a value (the listening line), and returns it.
    @discardableResult
    func waitForStderr<T>(timeout: Duration = TestDeadline.generous, _ parse: (String) -> T?) throws -> T {
        var found: T?
        // No signal announces a line on stderr (ChildProcess reads it on request): poll for it.
        _ = eventually(within: timeout) {
            for line in stderrText.split(separator: "\n") where found == nil { found = parse(String(line)) }
            return found != nil
        }
        guard let found else { throw ChildProcessTimeout(what: "a line on stderr", output: transcript) }
        return found
    }

    /// The port in sockettool's "Listening on 127.0.0.1:PORT" (or the JSON "listening" event) on stderr.
    func stderrListeningPort(timeout: Duration = .seconds(20)) throws -> UInt16 {
        try waitForStderr(timeout: timeout) { line in
            if line.hasPrefix("Listening on"), let port = UInt16(line.split(separator: ":").last ?? "") {
                return port
            }
            if line.contains("\"listening\""), let range = line.range(of: "\"port\": ") {
                return UInt16(line[range.upperBound...].prefix { $0.isNumber })
            }
            return nil
        }
    }
}

/// Runs `/bin/sh -c script` with `$0` = the sockettool binary.
func shell(_ script: String) throws -> ChildProcess {
    try ChildProcess("/bin/sh", ["-c", script, ChildProcess.sockettool])
}
