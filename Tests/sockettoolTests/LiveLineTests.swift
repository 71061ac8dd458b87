// LiveLineTests.swift -- the live progress line on a real pseudo-terminal (util-linux `script`): cut to the
// terminal's width, erased before any other line, and absent when stdout is piped (its reader would print
// beside it), for flood's live line and a load run's.
import Foundation
import Glibc
import SocketCore
import Testing

@Suite("Live output: fits the terminal, erased before other output, plain lines when piped")
struct LiveLineTests {
    /// Runs `command` (sh) on a pseudo-terminal `columns` wide; returns the status and what the terminal got.
    static func onTerminal(columns: Int, _ command: String) throws -> (status: Int32, output: String) {
        let script = try #require(scriptPath)
        let result = try ChildProcess.run(
            script,
            ["-q", "-e", "-c", "stty cols \(columns) rows 24; " + command, "/dev/null"],
            environment: contractEnvironment,
            timeout: .seconds(60)
        )
        return (result.status, result.stdout + result.stderr)
    }

    /// The texts of every redraw: "\r" TEXT ESC[K.
    static func redraws(_ output: String) -> [String] {
        output.matches(of: /\r([^\r\n\u{1B}]+)\u{1B}\[K/).map { String($0.output.1) }
    }

    static var sockettool: String { shellQuoted(ChildProcess.sockettool) }

    @Test("cut to one row, one column short of the edge; as is when the width is unknown")
    func fitting() {
        #expect(LiveLine.fitted("0123456789", columns: 5) == "0123")
        #expect(LiveLine.fitted("0123", columns: 5) == "0123")
        #expect(LiveLine.fitted("01234", columns: 5) == "0123")
        #expect(LiveLine.fitted("0123456789", columns: nil) == "0123456789")
    }

    @Test(
        "flood on a 30- and a 100-column terminal: every redraw fits, and is erased before the next event line",
        .enabled(if: scriptPath != nil, "util-linux `script` is needed for a pseudo-terminal")
    )
    func floodFitsAndErases() throws {
        var longest: [Int: Int] = [:]
        for columns in [30, 100] {
            let run = try Self.onTerminal(columns: columns, "\(Self.sockettool) flood")
            #expect(run.status == 0, "\(run.output.debugDescription)")
            let redraws = Self.redraws(run.output)
            #expect(!redraws.isEmpty, "no live line: \(run.output.debugDescription)")
            #expect(redraws.allSatisfy { $0.count <= columns - 1 }, "\(columns) columns: \(redraws)")
            longest[columns] = redraws.map(\.count).max() ?? 0
            // Event lines that come while the live line is up start on an erased line, never glued to it.
            for event in ["send() would block", "Saturated: "] {
                let start = try #require(run.output.range(of: event), "\(run.output.debugDescription)")
                let before = run.output[..<start.lowerBound]
                #expect(
                    before.hasSuffix("\r\u{1B}[K") || before.hasSuffix("\n") || before.hasSuffix("\r\n"),
                    "\(event): \(before.suffix(60).debugDescription)"
                )
            }
        }
        // The width is read from the terminal, not a constant: the wider one shows more.
        #expect((longest[100] ?? 0) > 29, "\(longest)")
    }

    @Test(
        "flood | cat on a terminal: no live line to strand, the plain interval lines instead",
        .enabled(if: scriptPath != nil, "util-linux `script` is needed for a pseudo-terminal")
    )
    func floodPiped() throws {
        let run = try Self.onTerminal(columns: 80, "\(Self.sockettool) flood | cat")
        #expect(run.status == 0, "\(run.output.debugDescription)")
        #expect(!run.output.contains("\u{1B}[K"), "\(run.output.debugDescription)")
        #expect(run.output.contains(/[ ]{2}\d+\.\d{3} s  accepted [\d,]+  Send-Q/), "\(run.output.debugDescription)")
        #expect(!run.output.contains(/Send-Q [\d,]+Listening|EAGAIN ×\d+\S/), "\(run.output.debugDescription)")
    }

    @Test(
        "a load run's live line on a 30-column terminal fits; piped, its seconds come as plain lines",
        .enabled(if: scriptPath != nil, "util-linux `script` is needed for a pseudo-terminal")
    )
    func loadFits() throws {
        try withServer(["serve", "multi", "127.0.0.1", "0", "-q"]) { server, port in
            defer { server.send(SIGTERM) }
            let load = "\(Self.sockettool) connect 127.0.0.1 \(port) --duration 2.5"
            let run = try Self.onTerminal(columns: 30, load)
            #expect(run.status == 0, "\(run.output.debugDescription)")
            let redraws = Self.redraws(run.output)
            #expect(!redraws.isEmpty && redraws.allSatisfy { $0.count <= 29 }, "\(run.output.debugDescription)")

            let piped = try Self.onTerminal(columns: 30, load + " | cat")
            #expect(piped.status == 0, "\(piped.output.debugDescription)")
            #expect(!piped.output.contains("\u{1B}["), "\(piped.output.debugDescription)")
            #expect(piped.output.contains(/\[\d\.\d s\] [\d,]+ chunks\/s/), "\(piped.output.debugDescription)")
        }
    }
}
