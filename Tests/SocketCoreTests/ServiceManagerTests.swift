// ServiceManagerTests.swift -- systemd's protocols in-process: LISTEN_* parsed, a listening socket handed over
// by descriptor number and served on, sd_notify datagrams read from a socket of the test's own, and the
// supervisor's READY/STATUS/STOPPING/WATCHDOG and stats line around a real server on a real loop.
import Foundation
import Glibc
import SocketCore
import Synchronization
import TestSupport
import Testing

@Suite("Service manager: activation, notifications, supervisor (in-process)")
struct ServiceManagerTests {
    static let pid: Int32 = 4242

    // MARK: - LISTEN_PID, LISTEN_FDS, LISTEN_FDNAMES

    @Test("no LISTEN_PID, or one naming another process: not activated, whatever LISTEN_FDS says")
    func notForThisProcess() throws {
        #expect(try SocketActivation(listenPID: nil, listenFDs: "1", listenFDNames: nil, processID: Self.pid) == nil)
        #expect(try SocketActivation(listenPID: "4243", listenFDs: "1", listenFDNames: nil, processID: Self.pid) == nil)
        #expect(try SocketActivation(listenPID: "4242", listenFDs: nil, listenFDNames: nil, processID: Self.pid) == nil)
    }

    @Test("LISTEN_FDS=2 with names: descriptors 3 and 4 with their names; without names, 'unknown'")
    func descriptorsAndNames() throws {
        let named = try #require(
            try SocketActivation(listenPID: "4242", listenFDs: "2", listenFDNames: "app:admin", processID: Self.pid)
        )
        #expect(named.sockets.map(\.descriptor) == [3, 4])
        #expect(named.sockets.map(\.name) == ["app", "admin"])
        let unnamed = try #require(
            try SocketActivation(listenPID: "4242", listenFDs: "1", listenFDNames: nil, processID: Self.pid)
        )
        #expect(unnamed.sockets == [.init(descriptor: 3, name: "unknown")])
    }

    @Test(
        "variables meant for this process that make no sense are errors, not a silent bind",
        arguments: [
            ("x", "1", nil, "LISTEN_PID='x'"), ("4242", "0", nil, "LISTEN_FDS='0'"),
            ("4242", "two", nil, "LISTEN_FDS='two'"), ("4242", "2", "app", "names 1 descriptors"),
        ] as [(String, String, String?, String)]
    )
    func badVariables(pid: String, fds: String, names: String?, message: String) {
        #expect {
            _ = try SocketActivation(listenPID: pid, listenFDs: fds, listenFDNames: names, processID: Self.pid)
        } throws: { error in
            "\(error)".contains(message)
        }
    }

    @Test("NOTIFY_SOCKET and WATCHDOG_*: paths, abstract names, half the watchdog timeout, WATCHDOG_PID honoured")
    func notifyAndWatchdogVariables() throws {
        func settings(_ variables: [String: String]) throws -> ServiceManagerSettings {
            try ServiceManagerSettings(value: { variables[$0] }, processID: Self.pid)
        }
        #expect(try settings([:]) == .none)
        #expect(
            try settings(["NOTIFY_SOCKET": "/run/systemd/notify"]).notifySocket?.description == "/run/systemd/notify"
        )
        #expect(try settings(["NOTIFY_SOCKET": "@/org/freedesktop/systemd1/notify"]).notifySocket != nil)
        let relative = try settings(["NOTIFY_SOCKET": "notify.sock"])
        #expect(relative.notifySocket == nil && relative.warnings.count == 1)
        #expect(try settings(["NOTIFY_SOCKET": "/" + String(repeating: "x", count: 200)]).notifySocket == nil)

        #expect(try settings(["WATCHDOG_USEC": "3000000"]).watchdogInterval == .milliseconds(1500))
        #expect(try settings(["WATCHDOG_USEC": "3000000", "WATCHDOG_PID": "4242"]).watchdogInterval != nil)
        #expect(try settings(["WATCHDOG_USEC": "3000000", "WATCHDOG_PID": "1"]).watchdogInterval == nil)
        let garbage = try settings(["WATCHDOG_USEC": "soon"])
        #expect(garbage.watchdogInterval == nil && garbage.warnings.count == 1)
        #expect(ServiceManagerSettings.variables.contains("LISTEN_FDNAMES"))
    }

    // MARK: - Adopting a passed socket (handed over by descriptor number)

    @Test("a listening TCP socket handed over by number is adopted non-blocking and close-on-exec, and served on")
    func adoptsAndServesAListeningSocket() throws {
        let listening = try Socket.listening(on: SocketAddress(ipv4: "127.0.0.1", port: 0)!)
        let port = try listening.localAddress().port
        let passed = dup(listening.descriptor)  // the server owns the copy it is given
        listening.close()
        try #require(passed >= 0)
        _ = fcntl(passed, F_SETFD, 0)
        _ = fcntl(passed, F_SETFL, fcntl(passed, F_GETFL) & ~O_NONBLOCK)
        let activation = SocketActivation(sockets: [.init(descriptor: passed, name: "app")])
        let socket = try activation.listener(families: [AddressFamily.ipv4, AddressFamily.ipv6])
        #expect(socket.descriptor == passed)
        #expect(fcntl(passed, F_GETFD) & FD_CLOEXEC != 0, "not close-on-exec")
        #expect(fcntl(passed, F_GETFL) & O_NONBLOCK != 0, "not non-blocking")
        socket.close()

        let again = try Socket.listening(on: SocketAddress(ipv4: "127.0.0.1", port: port)!)
        let number = dup(again.descriptor)
        again.close()
        let server = try SupervisedAppServer(passedDescriptor: number, notify: nil)
        defer { server.stop() }
        #expect(server.port == port)
        #expect(try searchInProcess(port: port, value: "ring") == "In the caves beneath the Misty Mountains. \u{1F48D}")
    }

    @Test("a passed descriptor that is not a listening TCP socket is refused with the reason")
    func refusesWhatCannotBeServed() throws {
        func problem(_ descriptor: CInt) -> String {
            do {
                let socket = try SocketActivation(sockets: [.init(descriptor: descriptor, name: "x")])
                    .listener(families: [AddressFamily.ipv4, AddressFamily.ipv6])
                socket.close()
                return "adopted"
            } catch {
                return error.description
            }
        }
        let udp = socket(AF_INET, CInt(SOCK_DGRAM.rawValue) | CInt(SOCK_CLOEXEC.rawValue), 0)
        let unconnected = socket(AF_INET, CInt(SOCK_STREAM.rawValue) | CInt(SOCK_CLOEXEC.rawValue), 0)
        let (left, right) = try Socket.pair()
        var ends: [CInt] = [-1, -1]
        #expect(pipe(&ends) == 0)
        defer {
            for fd in [udp, unconnected] + ends { close(fd) }
            left.close()
            right.close()
        }
        #expect(problem(udp).contains("SOCK_DGRAM socket, not SOCK_STREAM"), "\(problem(udp))")
        #expect(problem(unconnected).contains("not listening"), "\(problem(unconnected))")
        #expect(problem(left.descriptor).contains("AF_UNIX socket; this server serves AF_INET or AF_INET6"))
        #expect(problem(ends[0]).contains("not a socket"))
        #expect(problem(4000).contains("not open"))
        let two = SocketActivation(sockets: [.init(descriptor: 3, name: "a"), .init(descriptor: 4, name: "b")])
        #expect(throws: SocketActivationError.tooMany(["a", "b"])) { try two.listener(families: [AddressFamily.ipv4]) }
    }

    // MARK: - sd_notify

    @Test(
        "datagrams reach a path and an abstract name; an unreachable socket costs one warning",
        arguments: [false, true]
    )
    func notifySocketDelivers(abstract: Bool) throws {
        let receiver = try NotifyReceiver(abstract: abstract)
        let address = try #require(NotifySocketAddress(receiver.address))
        try NotifySocket.send("READY=1\nSTATUS=hello", to: address, patience: .seconds(1))
        #expect(receiver.receive(timeout: .seconds(5)) == "READY=1\nSTATUS=hello")

        let lines = CapturedLines()
        let nobody = try #require(NotifySocketAddress(receiver.address + "-gone"))
        let notifier = ServiceNotifier(settings: ServiceManagerSettings(notifySocket: nobody), log: lines.log)
        notifier.ready(status: "x")
        notifier.watchdog()
        notifier.stopping(status: "y")
        lines.log.flush()
        #expect(lines.stderr.count == 1, "\(lines.stderr)")
        #expect(lines.stderr.first?.contains("cannot notify the service manager") == true)
    }

    @Test("a full manager queue: READY=1 waits for room instead of being lost; WATCHDOG=1 gives up at once")
    func readyWaitsForRoom() throws {
        let receiver = try NotifyReceiver()
        let address = try #require(NotifySocketAddress(receiver.address))
        let fillers = try receiver.fill()
        #expect(fillers > 0)
        #expect(throws: SystemError.self) { try NotifySocket.send("WATCHDOG=1", to: address, patience: .zero) }
        let sender = try WorkerThread { try? NotifySocket.send("READY=1", to: address, patience: .seconds(20)) }
        defer { sender.join() }
        var seen: [String] = []
        let ready = receiver.receive(until: { $0 == "READY=1" }, timeout: .seconds(20), seen: &seen)
        #expect(ready == "READY=1")
        #expect(seen.dropLast().allSatisfy { $0 == "FILLER=1" } && seen.count == fillers + 1, "\(seen.count)")
    }

    // MARK: - The supervisor around a real server

    @Test(
        "supervised app server: READY=1 first, WATCHDOG=1 on the loop's timer, stats on SIGUSR1, STOPPING=1 at SIGTERM",
        arguments: SelectorKind.allCases
    )
    func supervisedServer(kind: SelectorKind) throws {
        let receiver = try NotifyReceiver()
        let server = try SupervisedAppServer(
            passedDescriptor: nil,
            notify: receiver.address,
            watchdog: .milliseconds(200),
            kind: kind
        )
        defer { server.stop() }
        var seen: [String] = []
        let ready = receiver.receive(until: { $0.hasPrefix("READY=1") }, timeout: .seconds(10), seen: &seen)
        #expect(ready == "READY=1\nSTATUS=Listening on 127.0.0.1:\(server.port)", "\(seen)")
        #expect(seen.count == 1, "READY=1 was not the first message: \(seen)")
        #expect(receiver.receive(until: { $0 == "WATCHDOG=1" }, timeout: .seconds(10), seen: &seen) != nil)
        #expect(receiver.receive(until: { $0 == "WATCHDOG=1" }, timeout: .seconds(10), seen: &seen) != nil)

        #expect(try searchInProcess(port: server.port, value: "morpheus") == "Follow the white rabbit. \u{1F430}")
        server.signal(SIGUSR1)
        let stats = try server.lines.waitForStdout { $0.hasPrefix("Stats: ") }
        #expect(
            stats.hasPrefix("Stats: 0 open, 1 accepted, 1 requests, 146 bytes in, 148 bytes out, 0 errors, up "),
            "\(stats)"
        )

        server.signal(SIGTERM)
        let stopping = receiver.receive(until: { $0.hasPrefix("STOPPING=1") }, timeout: .seconds(10), seen: &seen)
        #expect(stopping?.hasPrefix("STOPPING=1\nSTATUS=Stopping (SIGTERM)") == true, "\(seen)")
        #expect(server.waitUntilFinished(timeout: .seconds(10)), "the loop did not end after SIGTERM")
        #expect(server.lines.stdout.contains("Caught SIGTERM, exiting"))
    }

    @Test("the stats line counts errors by kind; the JSON event carries every counter")
    func statsLineAndJSON() throws {
        var counters = ServerStats.Snapshot()
        counters.open = 2
        counters.accepted = 1204
        counters.requests = 1200
        counters.bytesIn = 98304
        counters.bytesOut = 1_103_872
        counters.errors[ServerErrorKind.badRequest.rawValue] = 2
        counters.errors[ServerErrorKind.timeout.rawValue] = 1
        let report = ServerStatsReport(counters: counters, uptime: 724_000_000_000, workers: 2, countsRequests: true)
        #expect(
            report.text
                == "Stats: 2 open, 1,204 accepted, 1,200 requests, 98,304 bytes in, 1,103,872 bytes out, 3 errors "
                + "(2 bad_request, 1 timeout), up 12m 04s, 2 workers"
        )
        let line = EventLog.jsonLine("stats", report.fields)
        let object = try #require(try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any])
        #expect(object["event"] as? String == "stats")
        #expect(object["requests"] as? Int == 1200 && object["workers"] as? Int == 2)
        #expect((object["errors"] as? [String: Int])?["bad_request"] == 2)
        #expect((object["uptime_s"] as? Double) == 724)
        #expect(report.status == "2 open, 1,204 accepted, 1,200 requests, 3 errors")
    }

    @Test("a repeating timer fires on schedule and stops when cancelled inside its own action")
    func repeatingTimer() throws {
        let reactor = try Reactor()
        var fired = 0
        var timer: RepeatingTimer?
        timer = reactor.scheduleRepeating(every: .milliseconds(5)) { reactor in
            fired += 1
            if fired == 3 { timer?.cancel(in: reactor) }
        }
        // With nothing registered, the loop ends by itself once no timer is left: the cancelled one is gone.
        try reactor.run()
        #expect(fired == 3)
        #expect(timer?.isScheduled == false)
    }
}

// MARK: - Helpers

/// Lines an EventLog printed, readable from another thread.
final class CapturedLines: Sendable {
    private let stdoutLines = Mutex<[String]>([])
    private let stderrLines = Mutex<[String]>([])

    /// A text log into these lines. Use it on one thread.
    var log: EventLog {
        EventLog(
            output: OutputBuffer { line in self.stdoutLines.withLock { $0.append(line) } },
            diagnostics: OutputBuffer { line in self.stderrLines.withLock { $0.append(line) } }
        )
    }

    var stdout: [String] { stdoutLines.withLock { $0 } }
    var stderr: [String] { stderrLines.withLock { $0 } }

    /// Waits (polling, bounded) for a stdout line that satisfies `predicate`.
    func waitForStdout(timeout: Duration = .seconds(10), _ predicate: (String) -> Bool) throws -> String {
        let deadline = ContinuousClock.now + timeout
        while ContinuousClock.now < deadline {
            if let line = stdout.first(where: predicate) { return line }
            Thread.sleep(forTimeInterval: 0.01)
        }
        throw SystemError(errno: .timedOut, call: "waitForStdout", detail: "\(stdout)")
    }
}

/// `serve app` on a loop of its own thread, supervised; signals are delivered by a pipe the loop watches.
final class SupervisedAppServer: @unchecked Sendable {
    // @unchecked: `port` is written before init returns; the rest is Sendable.
    let lines = CapturedLines()
    private(set) var port: UInt16 = 0
    private let commands: WakePipe
    private let finished = DispatchSemaphore(value: 0)
    private var thread: WorkerThread?

    /// - Parameter passedDescriptor: A listening socket to serve on, as activation passes it; nil binds
    ///   127.0.0.1:0.
    init(
        passedDescriptor: CInt?,
        notify: String?,
        watchdog: Duration? = nil,
        kind: SelectorKind = .poll
    ) throws {
        commands = try WakePipe()
        let started = DispatchSemaphore(value: 0)
        let result = Mutex<Result<UInt16, any Error>?>(nil)
        let lines = self.lines
        let commands = self.commands
        let finished = self.finished
        thread = try WorkerThread {
            let log = lines.log
            do {
                let reactor = try Reactor(kind: kind)
                var listening: Socket?
                if let passedDescriptor {
                    listening = try? SocketActivation(sockets: [.init(descriptor: passedDescriptor, name: "app")])
                        .listener(families: [AddressFamily.ipv4])
                }
                let server = try ConnectionServer.app(
                    reactor: reactor,
                    options: ServerOptions(address: SocketAddress(ipv4: "127.0.0.1", port: 0)!, grace: .seconds(1)),
                    app: AppOptions(),
                    log: log,
                    listeningSocket: listening
                )
                let settings = ServiceManagerSettings(
                    notifySocket: notify.flatMap(NotifySocketAddress.init),
                    watchdogTimeout: watchdog.map { $0 * 2 }
                )
                let supervisor = ServerSupervisor(server: server, log: log, settings: settings)
                try reactor.register(
                    descriptor: commands.readDescriptor,
                    interest: .readable,
                    handler: CommandReader(commands) { supervisor.signalled($0) }
                )
                try supervisor.start()
                result.withLock { $0 = .success(server.address.port) }
                started.signal()
                try server.run()
                reactor.deregister(descriptor: commands.readDescriptor)
            } catch {
                result.withLock { if $0 == nil { $0 = .failure(error) } }
                started.signal()
            }
            log.flush()
            finished.signal()
        }
        _ = started.wait(timeout: .now() + 20)
        switch result.withLock({ $0 }) {
        case .success(let port): self.port = port
        case .failure(let error):
            stop()
            throw error
        case nil:
            throw SystemError(errno: .timedOut, call: "SupervisedAppServer", detail: "did not start")
        }
    }

    /// Delivers `signal` to the supervisor, on the loop's thread.
    func signal(_ signal: CInt) {
        commands.wake(with: UInt8(signal))
    }

    /// True once the loop ended.
    func waitUntilFinished(timeout: Duration) -> Bool {
        let ok = finished.wait(timeout: .now() + .milliseconds(Int(timeout.components.seconds * 1000))) == .success
        if ok { finished.signal() }
        return ok
    }

    /// SIGTERM and a grace period's wait; joins the thread.
    func stop() {
        guard let thread else { return }
        self.thread = nil
        signal(SIGTERM)
        signal(SIGTERM)
        thread.join()
    }
}

/// Reads signal numbers from the test's pipe and hands them on.
private final class CommandReader: SocketHandler {
    private let pipe: WakePipe
    private let action: (CInt) -> Void
    init(_ pipe: WakePipe, _ action: @escaping (CInt) -> Void) {
        self.pipe = pipe
        self.action = action
    }
    func readable(in reactor: Reactor) {
        for byte in pipe.drain() { action(CInt(byte)) }
    }
    func writable(in reactor: Reactor) {}
}

/// One search request to 127.0.0.1:port, read to the end; the result text.
func searchInProcess(port: UInt16, value: String) throws -> String? {
    let socket = try Socket.connected(to: SocketAddress(ipv4: "127.0.0.1", port: port)!, timeout: .seconds(5))
    defer { socket.close() }
    let request = AppProtocol.searchRequest(value: value).encoded()
    _ = try request.withUnsafeBytes { try socket.writeAll($0, timeout: .seconds(5)) }
    var decoder = FrameDecoder()
    let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: 65536, alignment: 1)
    defer { buffer.deallocate() }
    while true {
        guard try socket.wait(for: .readable, timeout: .seconds(10)) == .ready else { return nil }
        guard case .processed(let count) = try socket.read(into: buffer) else { continue }
        if count == 0 { return nil }
        decoder.feed(UnsafeRawBufferPointer(rebasing: buffer[0..<count]))
        if let frame = try decoder.next() {
            let object = try JSONSerialization.jsonObject(with: Data(frame.content)) as? [String: Any]
            return object?["result"] as? String
        }
    }
}
