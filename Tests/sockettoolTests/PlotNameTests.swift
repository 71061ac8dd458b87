// PlotNameTests.swift -- --plot writes SVG only: a name asking for another format is a usage error (64)
// before anything runs, for flood and trace alike; an .svg name or one without an extension is taken.
import Foundation
import Testing

@Suite("--plot refuses names it cannot honour")
struct PlotNameTests {
    @Test(
        "x.png, x.PDF and an empty name are refused with exit 64 and the reason",
        arguments: [["flood"], ["trace", "--read", "/nonexistent.pcap"]]
    )
    func refused(command: [String]) throws {
        for name in ["x.png", "/tmp/dir.d/queues.PDF"] {
            let run = try ChildProcess.sockettool(command + ["--plot", name])
            #expect(run.status == 64, "\(name): \(run.stderr)")
            #expect(run.stderr.contains("--plot writes SVG only"), "\(name): \(run.stderr)")
        }
        let empty = try ChildProcess.sockettool(command + ["--plot", ""])
        #expect(empty.status == 64 && empty.stderr.contains("--plot needs a file name"), "\(empty.stderr)")
    }

    @Test("an .svg name (any case) and a name without an extension pass validation")
    func accepted() throws {
        // trace --read of a missing file fails after validation, with its own error: not a usage error.
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("plot-names-\(UUID())")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        for name in ["ladder.svg", "LADDER.SVG", "ladder", ".hidden"] {
            let path = directory.appendingPathComponent(name).path
            let run = try ChildProcess.sockettool(["trace", "--read", "/nonexistent.pcap", "--plot", path])
            #expect(run.status != 64 && !run.stderr.contains("--plot"), "\(name): \(run.stderr)")
        }
    }
}
