// ResilienceStorm.swift -- a storm of bad connections against a reactor server: many threads, a fixed number
// of connections in flight, each sending garbage, a hostile request, a stalled prefix or a reset, and each
// ending checked against what the server promises for it.
import Foundation
import Glibc
import SocketCore
import Synchronization

/// What one storm connection does.
enum StormMove: Sendable {
    /// A request from HostileInputTests; half-closed if the case says so.
    case hostile(HostileCase)
    /// Random bytes, then a half-close; the rest is read to the end.
    case garbage([UInt8])
    /// The start of a valid request, then silence: only a deadline ends it.
    case stall([UInt8])
    /// Random bytes, then a RST.
    case reset([UInt8])
    /// A valid search, which must still be answered in the middle of the storm.
    case valid

    /// Short name for the tallies.
    var name: String {
        switch self {
        case .hostile: "hostile"
        case .garbage: "garbage"
        case .stall: "stall"
        case .reset: "reset"
        case .valid: "valid"
        }
    }
}

/// SplitMix64: a small seeded generator, so a failing storm can be replayed from the seed it prints.
struct StormRandom: RandomNumberGenerator {
    private var state: UInt64

    init(seed: UInt64) { state = seed }

    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}

/// Builds and runs storms.
enum Storm {
    /// `count` moves from `seed`: mostly garbage and hostile requests, a few stalls, resets and valid ones.
    static func moves(count: Int, seed: UInt64) -> [StormMove] {
        var random = StormRandom(seed: seed)
        let request = AppWire.searchRequest("morpheus")
        return (0..<count).map { index in
            if index % 25 == 0 { return .valid }
            let roll = Int.random(in: 0..<100, using: &random)
            let length = Int.random(in: 1...4096, using: &random)
            let garbage = (0..<length).map { _ in UInt8.random(in: 0...255, using: &random) }
            switch roll {
            case 0..<45: return .garbage(garbage)
            case 45..<85: return .hostile(HostileCase.all.randomElement(using: &random)!)
            case 85..<88: return .stall(Array(request.prefix(Int.random(in: 1..<request.count, using: &random))))
            default: return .reset(garbage)
            }
        }
    }

    /// The tally of a storm.
    struct Outcome: Sendable, CustomStringConvertible {
        var connections = 0
        var failures: [String] = []
        var seconds = 0.0
        var completed = true

        var description: String {
            "\(connections) connections in \(String(format: "%.2f", seconds)) s, \(failures.count) failed"
                + (completed ? "" : ", NOT COMPLETED")
        }
    }

    /// Shared between the storm threads.
    private final class Board: @unchecked Sendable {
        // @unchecked: `outcome` is only touched under `lock`. An NSLock (a pthread mutex) rather than
        // Synchronization's Mutex, whose futex ThreadSanitizer cannot see: `make sanitize` would report races.
        let next = Atomic<Int>(0)
        let failures = Atomic<Int>(0)
        private let lock = NSLock()
        private var outcomeValue = Outcome()

        func withOutcome<T>(_ body: (inout Outcome) -> T) -> T {
            lock.lock()
            defer { lock.unlock() }
            return body(&outcomeValue)
        }
    }

    /// Runs `moves` against the server on `port`, `concurrency` at a time, one thread per slot.
    static func run(
        _ moves: [StormMove],
        against kind: ReactorKind,
        port: UInt16,
        concurrency: Int = 50,
        timeout: Duration = .seconds(90),
        stopAfterFailures: Int = 50,
        whileWaiting: () -> Void = {}
    ) -> Outcome {
        let board = Board()
        let group = DispatchGroup()
        let started = ContinuousClock.now
        for _ in 0..<concurrency {
            group.enter()
            let thread = Thread {
                defer { group.leave() }
                // A server that stopped answering would make every remaining connection wait for its timeout:
                // past `stopAfterFailures` the storm ends early (and fails).
                while board.failures.load(ordering: .relaxed) < stopAfterFailures {
                    let index = board.next.wrappingAdd(1, ordering: .relaxed).oldValue
                    guard index < moves.count else { return }
                    let failure = play(moves[index], kind: kind, port: port)
                    if failure != nil { board.failures.wrappingAdd(1, ordering: .relaxed) }
                    board.withOutcome { outcome in
                        outcome.connections += 1
                        if let failure { outcome.failures.append("#\(index) \(moves[index].name): \(failure)") }
                    }
                }
            }
            thread.start()
        }
        // The caller's chores meanwhile (draining the server's output, which would otherwise fill its pipe and
        // stop it), every 20 ms until the storm is over or the timeout passes.
        let deadline = ContinuousClock.now + timeout
        var finished = false
        while !finished && ContinuousClock.now < deadline {
            whileWaiting()
            finished = group.wait(timeout: .now() + .milliseconds(20)) == .success
        }
        return board.withOutcome { outcome in
            outcome.completed = finished
            outcome.seconds = (ContinuousClock.now - started).millisecondsValue / 1000
            return outcome
        }
    }

    /// One connection: nil if it ended as the server promises, else what went wrong.
    private static func play(_ move: StormMove, kind: ReactorKind, port: UInt16) -> String? {
        do {
            let client = try LoopbackClient.connect(port: port)
            defer { client.close() }
            switch (move, kind) {
            case (.reset(let bytes), _):
                _ = try bytes.withUnsafeBytes { try client.sendWhatFits($0) }
                client.reset()
                return nil
            case (.valid, _):
                try client.send(AppWire.searchRequest("morpheus"))
                if kind == .app {
                    let result = AppWire.result(of: try client.readFrame())
                    return result == "Follow the white rabbit. \u{1F430}" ? nil : "answer \(result ?? "none")"
                }
                try client.shutdownWrite()
                return expectEcho(of: AppWire.searchRequest("morpheus"), client)
            case (.hostile(let hostile), .app):
                try client.send(hostile.bytes)
                if hostile.halfClose { try client.shutdownWrite() }
                return expectErrorReply(client, containing: hostile.reason, within: .seconds(5))
            case (.garbage(let bytes), .app):
                try client.send(bytes)
                try client.shutdownWrite()
                return expectErrorReply(client, containing: "", within: .seconds(5))
            case (.stall(let bytes), .app):
                // Only --request-timeout (1 s in the storm) ends this one.
                try client.send(bytes)
                return expectErrorReply(client, containing: "request not complete after", within: .seconds(5))
            case (.hostile(let hostile), .multi):
                try client.send(hostile.bytes)
                try client.shutdownWrite()
                return expectEcho(of: hostile.bytes, client)
            case (.garbage(let bytes), .multi):
                try client.send(bytes)
                try client.shutdownWrite()
                return expectEcho(of: bytes, client)
            case (.stall(let bytes), .multi):
                // Sends and leaves without reading its echo.
                try client.send(bytes)
                return nil
            }
        } catch {
            return "\(error)"
        }
    }

    /// The server answers with one framed {"result": "Error: ..."} and a FIN.
    private static func expectErrorReply(
        _ client: LoopbackClient,
        containing reason: String,
        within: Duration
    )
        -> String?
    {
        let (bytes, end) = client.readToEnd(timeout: within)
        guard end == .eof else { return "ended with \(end) after \(bytes.count) bytes" }
        guard let reply = try? AppWire.decodeOne(bytes), reply.trailing == 0,
            let result = AppWire.result(of: reply.frame)
        else { return "not one framed result: \(Array(bytes.prefix(200)).hex)" }
        guard result.hasPrefix("Error: "), reason.isEmpty || result.contains(reason) else { return "result \(result)" }
        return nil
    }

    /// Everything sent comes back, then a FIN.
    private static func expectEcho(of sent: [UInt8], _ client: LoopbackClient) -> String? {
        let (bytes, end) = client.readToEnd(timeout: .seconds(5))
        guard end == .eof else { return "ended with \(end) after \(bytes.count) of \(sent.count) bytes" }
        return bytes == sent ? nil : "echo of \(bytes.count) bytes differs from the \(sent.count) sent"
    }
}
