// CLIContractInstallTests.swift -- `make install PREFIX=...` as a user runs it: binary, man page,
// completions and systemd units in place, the man page renders, the installed binary runs with an empty
// environment.
//
// Slow (a static release build and the generate-manual plugin, minutes on two cores), so it runs only
// with SOCKETTOOL_SLOW_TESTS=1:
//
//     SOCKETTOOL_SLOW_TESTS=1 swift test --filter CLIContractInstall
//
// It builds in a copy of the package in a temporary directory, so it never touches .build.
import Foundation
import Glibc
import SocketCore
import Testing

@Suite("CLI contract: make install")
struct CLIContractInstallTests {
    @Test(
        "make install PREFIX=<tmp>: binary, man page, bash/zsh/fish completions; runs with env -i",
        .enabled(
            if: environmentFlag("SOCKETTOOL_SLOW_TESTS"),
            "slow (release build + man page): set SOCKETTOOL_SLOW_TESTS=1"
        ),
        .timeLimit(.minutes(30))
    )
    func makeInstall() throws {
        let fileManager = FileManager.default
        let work = fileManager.temporaryDirectory.appendingPathComponent(
            "sockettool-install-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
        )
        let source = work.appendingPathComponent("src")
        let prefix = work.appendingPathComponent("prefix")
        try fileManager.createDirectory(at: source, withIntermediateDirectories: true)
        defer { try? fileManager.removeItem(at: work) }

        // The package without its build directories and git state.
        let root = ContractPaths.packageRoot
        for entry in try fileManager.contentsOfDirectory(atPath: root.path)
        where !entry.hasPrefix(".build") && entry != ".git" {
            try fileManager.copyItem(at: root.appendingPathComponent(entry), to: source.appendingPathComponent(entry))
        }
        // Reuse a resolved dependency checkout if there is one, so no network is needed.
        let scratch = try fileManager.contentsOfDirectory(atPath: root.path).filter { $0.hasPrefix(".build") }.sorted()
            .map { root.appendingPathComponent($0) }
            .first { fileManager.fileExists(atPath: $0.appendingPathComponent("checkouts/swift-argument-parser").path) }
        if let scratch {
            let build = source.appendingPathComponent(".build")
            try fileManager.createDirectory(at: build, withIntermediateDirectories: true)
            for item in ["checkouts", "repositories", "workspace-state.json"]
            where fileManager.fileExists(atPath: scratch.appendingPathComponent(item).path) {
                try fileManager.copyItem(
                    at: scratch.appendingPathComponent(item),
                    to: build.appendingPathComponent(item)
                )
            }
        }

        let started = ContinuousClock.now
        let make = try ChildProcess.run(
            "make",
            ["-C", source.path, "install", "PREFIX=\(prefix.path)"],
            timeout: .seconds(25 * 60)
        )
        let elapsed = ContinuousClock.now - started
        print("make install took \(elapsed)")
        try #require(make.status == 0, "make install failed:\n\(make.stdout.suffix(4000))\n\(make.stderr.suffix(4000))")

        let installed = [
            "bin/sockettool",
            "share/man/man1/sockettool.1",
            "share/bash-completion/completions/sockettool",
            "share/zsh/site-functions/_sockettool",
            "share/fish/vendor_completions.d/sockettool.fish",
        ]
        let units = ["sockettool-app.socket", "sockettool-app.service", "sockettool@.service"]
        for path in installed {
            let file = prefix.appendingPathComponent(path).path
            let size = (try? fileManager.attributesOfItem(atPath: file)[.size] as? Int) ?? nil
            #expect((size ?? 0) > 0, "\(path) missing or empty")
        }
        let binary = prefix.appendingPathComponent("bin/sockettool").path
        #expect(fileManager.isExecutableFile(atPath: binary))
        // The systemd units, their ExecStart= naming the installed binary.
        for unit in units {
            let path = prefix.appendingPathComponent("lib/systemd/system/\(unit)")
            let text = (try? String(contentsOf: path, encoding: .utf8)) ?? ""
            #expect(!text.isEmpty, "\(unit) missing or empty")
            if unit.hasSuffix(".service") { #expect(text.contains("ExecStart=\(binary) serve "), "\(unit)") }
        }
        for path in installed.dropFirst(2) {
            let text = (try? String(contentsOf: prefix.appendingPathComponent(path), encoding: .utf8)) ?? ""
            #expect(text.contains("sockettool") && text.contains("serve") && text.contains("flood"), "\(path)")
        }

        // The man page renders.
        let page = prefix.appendingPathComponent("share/man/man1/sockettool.1").path
        let man = try ChildProcess.run(
            "man",
            ["-l", page],
            environment: ["MANPAGER": "cat", "PAGER": "cat", "MANWIDTH": "80"]
        )
        #expect(man.status == 0, "\(man.stderr)")
        #expect(man.stdout.contains("sockettool"))
        #expect(man.stdout.contains("serve") && man.stdout.contains("search") && man.stdout.contains("flood"))

        // The installed binary needs nothing from the environment: not Swift's libraries, not PATH.
        let version = try ChildProcess.run("/usr/bin/env", ["-i", binary, "--version"])
        let expectedVersion = try ChildProcess.sockettool(["--version"])
        #expect(version.status == 0, "\(version.stderr)")
        #expect(version.stdout == expectedVersion.stdout)
        let demo = try ChildProcess.run(
            "/usr/bin/env",
            ["-i", binary, "flood", "--sndbuf", "4096", "--rcvbuf", "4096"]
        )
        #expect(demo.status == 0, "\(demo.stderr)")
        #expect(demo.stdout.contains("Bytes accepted by the kernel"), "\(demo.stdout)")
        if fileManager.isExecutableFile(atPath: "/usr/bin/ldd") {
            let ldd = try ChildProcess.run("/usr/bin/ldd", [binary])
            #expect(!ldd.stdout.contains("libswift") && !ldd.stdout.contains("libFoundation"), "\(ldd.stdout)")
        }
    }
}
