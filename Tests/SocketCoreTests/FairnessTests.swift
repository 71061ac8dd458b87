// FairnessTests.swift -- issue 16: one client of `serve app` cannot starve the others. The loop answers at
// most a budget of content per turn itself; larger requests wait for a worker thread while everyone else
// is served; an answer cannot be made much larger than its request. Counts of requests and turns, no clocks.
import Glibc
import Synchronization
import Testing

@testable import SocketCore

@Suite("serve app: one client cannot starve the others")
struct FairnessTests {
    /// `{"action": "search", "value": [9e15, 9e15, ...]}` of about `size` bytes: cheap to send, costly to
    /// parse, and its answer repeats each number as `9000000000000000.0`.
    static func numbersRequest(size: Int) -> Frame {
        var content = Array(#"{"action": "search", "value": [9e15"#.utf8)
        while content.count < size - 8 { content.append(contentsOf: ", 9e15".utf8) }
        content.append(contentsOf: "]}".utf8)
        return Frame(contentType: FrameHeader.jsonContentType, contentEncoding: "utf-8", content: content)
    }

    static func search(_ value: String, at address: SocketAddress) throws -> Frame {
        try SearchClient.run(
            target: DialTarget(address),
            request: AppProtocol.searchRequest(value: value),
            options: ClientOptions(),
            maximumContentLength: FrameDecoder.defaultMaximumContentLength,
            log: EventLog(output: OutputBuffer { _ in }, diagnostics: OutputBuffer { _ in }),
            reactor: try testReactor()
        ).frame
    }

    @Test("a 1 MiB request held on the worker: 20 small requests are answered meanwhile, then it is")
    func largeRequestDoesNotHoldTheLoop() throws {
        let started = try WakePipe()
        let release = try WakePipe()
        var app = AppOptions(workerThreads: 1)
        app.beforeEachWorkerJob = {
            started.wake()
            _ = try? Wait.until(Wait.deadline(after: .seconds(60)), [WaitTarget(release.readDescriptor, .readable)])
        }
        let server = try InProcessServer(.app, app: app)
        defer {
            release.wake()
            server.stop()
        }
        let (hostile, _) = try Socket.connecting(to: server.address)
        defer { hostile.close() }
        let request = Self.numbersRequest(size: 1 << 20 - 100).encoded()
        #expect(try request.withUnsafeBytes { try hostile.writeAll($0, timeout: .seconds(30)) } == .ready)
        #expect(try Wait.until(Wait.deadline(after: .seconds(30)), started.readDescriptor, .readable))

        // The worker holds the large request until released: every answer now comes from the loop.
        let rabbit = AppProtocol.resultFrame("Follow the white rabbit. \u{1F430}")
        var answered = 0
        for _ in 0..<20 where try Self.search("morpheus", at: server.address) == rabbit { answered += 1 }
        #expect(answered == 20)

        release.wake()
        var decoder = FrameDecoder()
        decoder.feed(RawIO.readAll(hostile.descriptor))
        let reply = try #require(try decoder.next())
        let text = String(decoding: reply.content, as: UTF8.self)
        #expect(text.contains("Error: the answer would be longer than 2.00 MiB"), "\(text.prefix(200))")
        #expect(server.printed.contains { $0.contains("the answer would be longer than") })
    }

    @Test("in one loop turn the loop answers 32 KiB of requests itself; the rest go to the workers")
    func inlineBudgetPerTurn() throws {
        let reactor = try testReactor()
        let workers = try RequestWorkers(reactor: reactor, threadCount: 1)
        let frame = AppProtocol.searchRequest(value: String(repeating: "x", count: 1000))
        var answers = 0
        var inline = 0
        for _ in 0..<100 {
            if try workers.answer(frame, in: reactor, done: { _, _ in answers += 1 }) == nil { inline += 1 }
        }
        #expect(inline == RequestWorkers.inlineBytesPerTurn / frame.content.count)
        #expect(answers == inline)
        #expect(workers.pendingCount == 100 - inline)

        // The workers' answers come back to the loop; the next turn has a budget of its own.
        let turn = reactor.turn
        reactor.addBeforeSleepHook { [unowned reactor] in if workers.pendingCount == 0 { reactor.stop() } }
        reactor.schedule(after: .seconds(60)) { $0.stop() }
        try reactor.run()
        #expect(answers == 100)
        #expect(reactor.turn > turn)
        #expect(try workers.answer(frame, in: reactor, done: { _, _ in answers += 1 }) == nil)
    }

    @Test("a large request goes to a worker whatever the turn's budget; a cancelled one is never answered")
    func largeRequestsGoToWorkers() throws {
        let reactor = try testReactor()
        let workers = try RequestWorkers(reactor: reactor, threadCount: 1)
        var answers = 0
        let large = Self.numbersRequest(size: RequestWorkers.largestInlineRequest + 100)
        let cancelled = try #require(try workers.answer(large, in: reactor, done: { _, _ in answers += 100 }))
        workers.cancel(cancelled)
        #expect(try workers.answer(large, in: reactor, done: { _, _ in answers += 1 }) != nil)
        reactor.addBeforeSleepHook { [unowned reactor] in if workers.pendingCount == 0 { reactor.stop() } }
        reactor.schedule(after: .seconds(60)) { $0.stop() }
        try reactor.run()
        #expect(answers == 1)
    }

    @Test("an answer may be twice its request (at least 64 KiB); past that the client gets an error")
    func answerSizeBound() {
        let small = AppAnswer.make(for: Self.numbersRequest(size: 4000))
        #expect(small.refusal == nil)
        #expect(small.responseContentLength > 4000 * 3)

        let large = AppAnswer.make(for: Self.numbersRequest(size: 100_000))
        #expect(large.refusal?.hasPrefix("the answer would be longer than 195.3 KiB") == true, "\(large.refusal ?? "")")
        #expect(large.responseContentLength < 300)
    }
}
