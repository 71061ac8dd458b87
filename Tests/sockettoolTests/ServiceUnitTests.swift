// ServiceUnitTests.swift -- the systemd units in docs/systemd: systemd-analyze accepts them, their
// `systemd-analyze security` exposure is the one docs/service.md reports, and the page shows them as
// they are. Needs systemd-analyze (Debian's systemd package); without it the tests say so and skip.
import Foundation
import Testing

@Suite("systemd unit files")
struct ServiceUnitTests {
    static let analyze: String? = ["/usr/bin/systemd-analyze", "/bin/systemd-analyze"]
        .first { FileManager.default.isExecutableFile(atPath: $0) }
    static let unitDirectory = ContractPaths.packageRoot.appendingPathComponent("docs/systemd")
    static let units = ["sockettool-app.socket", "sockettool-app.service", "sockettool@.service"]
    static var page: String {
        (try? String(contentsOf: ContractPaths.packageRoot.appendingPathComponent("docs/service.md"), encoding: .utf8))
            ?? ""
    }

    /// The units with ExecStart= naming the binary under test, in a fresh directory (as `make install`
    /// rewrites it for PREFIX): systemd-analyze verify checks that the command exists.
    static func installedCopy() throws -> URL {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent(
            "sockettool-units-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
        )
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        for unit in units {
            let text = try String(contentsOf: unitDirectory.appendingPathComponent(unit), encoding: .utf8)
            try text.replacingOccurrences(of: "/usr/local/bin/sockettool", with: ChildProcess.sockettool)
                .write(to: directory.appendingPathComponent(unit), atomically: true, encoding: .utf8)
        }
        return directory
    }

    @Test(
        "systemd-analyze verify accepts the units",
        .enabled(if: analyze != nil, "systemd-analyze is not installed (Debian: apt-get install systemd)")
    )
    func verify() throws {
        let directory = try Self.installedCopy()
        defer { try? FileManager.default.removeItem(at: directory) }
        let paths = ["sockettool-app.socket", "sockettool-app.service", "sockettool@multi.service"].map {
            directory.appendingPathComponent($0).path
        }
        // The template is checked as an instance, which systemd-analyze finds next to the template file.
        try FileManager.default.copyItem(
            at: directory.appendingPathComponent("sockettool@.service"),
            to: directory.appendingPathComponent("sockettool@multi.service")
        )
        let result = try ChildProcess.run(Self.analyze!, ["verify", "--man=no"] + paths)
        #expect(result.status == 0, "\(result.stdout)\(result.stderr)")
        #expect(result.stderr.isEmpty, "\(result.stderr)")
    }

    @Test(
        "systemd-analyze security gives each service the exposure docs/service.md reports",
        .enabled(if: analyze != nil, "systemd-analyze is not installed (Debian: apt-get install systemd)")
    )
    func exposure() throws {
        let directory = try Self.installedCopy()
        defer { try? FileManager.default.removeItem(at: directory) }
        for unit in Self.units where unit.hasSuffix(".service") {
            let result = try ChildProcess.run(
                Self.analyze!,
                ["security", "--offline=yes", "--no-pager", directory.appendingPathComponent(unit).path]
            )
            try #require(result.status == 0, "\(result.stderr)")
            // "→ Overall exposure level for sockettool-app.service: 0.3 SAFE 😀"
            let overall = try #require(
                result.stdout.split(separator: "\n").last { $0.contains("Overall exposure level") },
                "\(result.stdout)"
            )
            let words = overall.split(separator: ":").last!.split(separator: " ")
            let score = "\(words[0]) \(words[1])"
            #expect(
                Self.page.contains("| `\(unit)` | \(score) |"),
                "docs/service.md does not report \(score) for \(unit)"
            )
            // Locked down, not merely documented: SAFE or OK (below 4.0 on systemd's scale).
            #expect((Double(words[0]) ?? 10) < 4.0, "\(overall)")
        }
    }

    @Test("docs/service.md shows the app's units as they are in docs/systemd")
    func pageShowsUnits() throws {
        for unit in ["sockettool-app.socket", "sockettool-app.service"] {
            let text = try String(contentsOf: Self.unitDirectory.appendingPathComponent(unit), encoding: .utf8)
            #expect(Self.page.contains("```ini\n" + text.trimmingCharacters(in: .newlines) + "\n```"), "\(unit)")
        }
    }
}
