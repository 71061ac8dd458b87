// MemoryReturnTests.swift -- issue 16's RSS finding: after a burst of large requests, answered on worker
// threads, the idle server is back near the memory it started with (it was about 10 MiB above it: the
// workers' arena kept its free top, which malloc_trim does not give back).
import Foundation
import Glibc
import SocketCore
import Testing

@Suite("serve app gives a burst's memory back once idle")
struct MemoryReturnTests {
    /// `{"action": "search", "value": [9e15, ...]}` of 1,044,037 bytes, as Tests/Bench/fairness.sh sends:
    /// parsed on a worker thread, its answer given up at twice that.
    static let largeRequest: [UInt8] = {
        var content = Array(#"{"action": "search", "value": [9e15"#.utf8)
        for _ in 0..<174_000 { content.append(contentsOf: ", 9e15".utf8) }
        content.append(contentsOf: "]}".utf8)
        return AppWire.message(header: AppWire.header(contentLength: String(content.count)), content: content)
    }()

    @Test("twice 8 clients with 1 MiB requests at once: answered, and idle RSS within 4 MiB of the start")
    func burstIsGivenBack() throws {
        guard ProcessProbe.memoryFiguresAreMeaningful else { return }
        // A debug build on shared cores may take seconds per request: no request timeout may end one.
        try withServer(["serve", "app", "127.0.0.1", "0", "-q", "--request-timeout", "600"]) { server, port in
            let pid = server.pid
            let baseline = try ProcessProbe.openDescriptors(pid)
            let before = try ProcessProbe.residentKiB(pid)
            // Two bursts: the first raises glibc's own thresholds (it frees large blocks), the second then
            // grows the worker's arena instead of mapping its blocks apart.
            for _ in 0..<2 {
                let clients = try (0..<8).map { _ in try LoopbackClient.connect(port: port) }
                for client in clients { try client.send(Self.largeRequest) }
                for client in clients {
                    let frame = try client.readFrame()
                    let result = AppWire.result(of: frame) ?? ""
                    #expect(result.hasPrefix("Error: the answer would be longer than"), "\(result.prefix(200))")
                    client.close()
                }
            }
            // Every connection closed (the descriptors say so), then a second later the server trims its heap.
            #expect(try eventually { try ProcessProbe.openDescriptors(pid) == baseline })
            var after = try ProcessProbe.residentKiB(pid)
            let givenBack = try eventually {
                after = try ProcessProbe.residentKiB(pid)
                return after - before < 4 << 10
            }
            #expect(givenBack, "RSS \(before) KiB at the start, \(after) KiB idle after the burst")
        }
    }
}
