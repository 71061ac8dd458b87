// ResilienceStormTests.swift -- 2000 bad connections, 50 at a time, against serve app and serve multi: every
// one ends as promised, and afterwards the server answers, holds its idle descriptors and has not grown
// (issue 5, point 8).
import Foundation
import Glibc
import SocketCore
import Testing

@Suite("Resilience: a storm of bad connections")
struct ResilienceStormTests {
    /// How much RSS may grow from after the warm-up to after the storm.
    static let growthBoundKiB = 8 << 10

    @Test(
        "2000 connections of garbage, bad requests, stalls and resets: every one ends as promised, nothing leaks",
        arguments: ReactorKind.allCases
    )
    func storm(kind: ReactorKind) throws {
        DescriptorLimit.raiseToHardLimit()
        let server = try ResilientServer(kind, ["-q"] + (kind == .app ? ["--request-timeout", "1"] : []))
        try server.exchange()
        let idleDescriptors = try ProcessProbe.openDescriptors(server.pid)
        let seed = UInt64.random(in: 0...UInt64.max)

        // Warm-up: a small storm of the same mix, so the allocator has reached its working size.
        let warmUp = Storm.run(Storm.moves(count: 200, seed: seed &+ 1), against: kind, port: server.port) {
            _ = server.process.stderrText
        }
        #expect(warmUp.completed && warmUp.failures.isEmpty, "warm-up, seed \(seed &+ 1): \(warmUp.failures.prefix(5))")
        try expectDescriptorsSettle(server, at: idleDescriptors, after: "the warm-up")
        let warmKiB = try ProcessProbe.residentKiB(server.pid)

        let outcome = Storm.run(Storm.moves(count: 2000, seed: seed), against: kind, port: server.port) {
            _ = server.process.stderrText
        }
        #expect(outcome.completed, "the storm did not finish in time: \(outcome)")
        #expect(outcome.connections == 2000, "\(outcome)")
        #expect(
            outcome.failures.isEmpty,
            "seed \(seed): \(outcome.failures.count) connections did not end as promised: \(outcome.failures.prefix(10))"
        )

        #expect(server.isRunning, "the server died in the storm: \(server.process.transcript)")
        try server.exchange()
        try expectDescriptorsSettle(server, at: idleDescriptors, after: "the storm")
        let afterKiB = try ProcessProbe.residentKiB(server.pid)
        print(
            "storm \(kind): \(outcome); seed \(seed); RSS after warm-up \(warmKiB) KiB, after the storm "
                + "\(afterKiB) KiB (+\(afterKiB - warmKiB) KiB); descriptors idle \(idleDescriptors)"
        )
        if ProcessProbe.memoryFiguresAreMeaningful {
            #expect(afterKiB - warmKiB < Self.growthBoundKiB, "RSS grew by \(afterKiB - warmKiB) KiB in the storm")
        }
        #expect(try server.terminate() == 0, "\(server.process.transcript)")
    }

    /// The server's descriptor count comes back to `idle` within a bounded wait (app: lingering connections
    /// close when their clients do, at most 2 s later).
    private func expectDescriptorsSettle(
        _ server: ResilientServer,
        at idle: Int,
        after what: String,
        sourceLocation: SourceLocation = #_sourceLocation
    ) throws {
        var now = -1
        let settled = try eventually {
            now = try ProcessProbe.openDescriptors(server.pid)
            return now <= idle
        }
        #expect(settled, "\(now) descriptors open after \(what), \(idle) when idle", sourceLocation: sourceLocation)
    }
}
