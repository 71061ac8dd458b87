// ClientProgramTests.swift -- every client program of SocketCore against SocketCore's own servers, in this
// process: connect's echo, --conns, the echo load, the search load and search, each given an address list
// whose first entry nothing listens on, so each must reach the server on the next one.
import SocketCore
import Synchronization
import Testing

@Suite("client programs in-process: every mode reaches the server on the next address", .serialized)
struct ClientProgramTests {
    /// A log whose lines the test reads.
    static func capturingLog(_ lines: PrintedLines, verbosity: Verbosity = .normal) -> EventLog {
        EventLog(
            verbosity: verbosity,
            output: OutputBuffer { lines.append($0) },
            diagnostics: OutputBuffer { lines.append($0) }
        )
    }

    /// The server's address after one that refuses.
    static func fallbackTarget(to server: InProcessServer, refusing: RefusingPort) -> DialTarget {
        DialTarget(addresses: [refusing.address, server.address])
    }

    @Test("connect: one echo, printed the guide's way")
    func singleEcho() throws {
        let server = try InProcessServer(.multi)
        defer { server.stop() }
        let refusing = try RefusingPort()
        defer { refusing.close() }
        let lines = PrintedLines()
        let summary = try EchoClient.run(
            target: Self.fallbackTarget(to: server, refusing: refusing),
            payload: Array("Hello, world".utf8),
            options: ClientOptions(),
            log: Self.capturingLog(lines),
            reactor: try testReactor()
        )
        #expect(summary.bytesSent == 12 && summary.bytesReceived == 12 && summary.connections == 1)
        #expect(lines.all == ["Received b'Hello, world'"])
    }

    @Test("connect --conns 3: the guide's messages on every connection, each checked")
    func multiConnection() throws {
        let server = try InProcessServer(.multi)
        defer { server.stop() }
        let refusing = try RefusingPort()
        defer { refusing.close() }
        let lines = PrintedLines()
        let client = MultiConnectionClient(
            reactor: try testReactor(),
            log: Self.capturingLog(lines),
            options: ClientOptions()
        )
        let messages = ["Message 1 from client.", "Message 2 from client."].map { Array($0.utf8) }
        client.start(target: Self.fallbackTarget(to: server, refusing: refusing), count: 3) { _ in messages }
        let summary = try client.run()
        #expect(summary.connections == 3 && summary.failedConnections == 0)
        #expect(summary.bytesReceived == 3 * 44)
        for id in 1...3 {
            #expect(lines.all.contains("Starting connection \(id) to \(refusing.address)"), "\(lines.all)")
            #expect(lines.all.contains("Closing connection \(id)"), "\(lines.all)")
        }
    }

    @Test("connect --conns 2 against nothing at all: the refusal is reported as itself")
    func multiConnectionAllRefused() throws {
        let refusing = try RefusingPort()
        defer { refusing.close() }
        let client = MultiConnectionClient(
            reactor: try testReactor(),
            log: Self.capturingLog(PrintedLines()),
            options: ClientOptions()
        )
        client.start(target: DialTarget(refusing.address), count: 2) { _ in [Array("x".utf8)] }
        #expect {
            _ = try client.run()
        } throws: { error in
            (error as? ClientFailure)?.kind == .refused
        }
    }

    @Test("connect --duration: echo streams checked byte for byte, round trips measured")
    func echoLoad() throws {
        let server = try InProcessServer(.multi)
        defer { server.stop() }
        let refusing = try RefusingPort()
        defer { refusing.close() }
        let options = EchoLoadOptions(
            target: Self.fallbackTarget(to: server, refusing: refusing),
            streams: 0..<2,
            chunkSize: 4096,
            window: 16384,
            deadline: MonotonicClock.now() &+ 300_000_000,
            client: ClientOptions()
        )
        let worker = EchoLoadWorker(reactor: try testReactor(), options: options, progress: LoadProgress())
        worker.start()
        let report = try worker.run()
        #expect(report.failures.isEmpty, "\(report.failureText): \(report.firstFailure?.message ?? "")")
        #expect(report.completed > 0)
        #expect(report.bytesReceived > 0)
    }

    @Test("search --count 20: every response decoded and checked")
    func searchLoad() throws {
        let server = try InProcessServer(.app)
        defer { server.stop() }
        let refusing = try RefusingPort()
        defer { refusing.close() }
        let options = SearchLoadOptions(
            target: Self.fallbackTarget(to: server, refusing: refusing),
            request: AppProtocol.searchRequest(value: "morpheus"),
            concurrency: 4,
            count: 20,
            deadline: .max,
            client: ClientOptions(),
            maximumContentLength: FrameDecoder.defaultMaximumContentLength
        )
        let worker = SearchLoadWorker(reactor: try testReactor(), options: options, progress: LoadProgress())
        worker.start()
        let report = try worker.run()
        #expect(report.completed == 20, "\(report.failureText): \(report.firstFailure?.message ?? "")")
        #expect(report.failures.isEmpty)
    }

    @Test("search: one request, the guide's answer")
    func search() throws {
        let server = try InProcessServer(.app)
        defer { server.stop() }
        let refusing = try RefusingPort()
        defer { refusing.close() }
        let lines = PrintedLines()
        let response = try SearchClient.run(
            target: Self.fallbackTarget(to: server, refusing: refusing),
            request: AppProtocol.searchRequest(value: "ring"),
            options: ClientOptions(),
            maximumContentLength: FrameDecoder.defaultMaximumContentLength,
            log: Self.capturingLog(lines),
            reactor: try testReactor()
        )
        #expect(response.frame == AppProtocol.resultFrame("In the caves beneath the Misty Mountains. \u{1F48D}"))
        #expect(lines.all.contains("Got result: In the caves beneath the Misty Mountains. \u{1F48D}"), "\(lines.all)")
        #expect(server.printed.contains { $0.hasPrefix("Received request {'action': 'search', 'value': 'ring'}") })
    }

    @Test("a load against a refusing port counts refusals under their report name")
    func loadFailuresByKind() throws {
        let refusing = try RefusingPort()
        defer { refusing.close() }
        let options = SearchLoadOptions(
            target: DialTarget(refusing.address),
            request: AppProtocol.searchRequest(value: "x"),
            concurrency: 1,
            count: 3,
            deadline: .max,
            client: ClientOptions(),
            maximumContentLength: 1024
        )
        let worker = SearchLoadWorker(reactor: try testReactor(), options: options, progress: LoadProgress())
        worker.start()
        let report = try worker.run()
        #expect(report.failures == [.refused: 3])
        #expect(report.failureText == "refused 3")
    }
}
