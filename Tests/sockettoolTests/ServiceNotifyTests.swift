// ServiceNotifyTests.swift -- sd_notify from the real binary (issue 15): a NOTIFY_SOCKET of the test's own
// (a Unix datagram socket in a temporary directory) receives READY=1 before the first connection is
// accepted, STATUS= with live counts, STOPPING=1 at SIGTERM and SIGHUP, and WATCHDOG=1 on time.
import Foundation
import Glibc
import SocketCore
import TestSupport
import Testing

@Suite("sd_notify: READY, STATUS, STOPPING, WATCHDOG")
struct ServiceNotifyTests {
    /// READY=1 must come before the first accept. The test makes that observable: its notification queue
    /// is full, so the server's READY=1 waits until the test reads; meanwhile a connection made before the
    /// server started stays in the kernel's accept queue, unaccepted and unanswered.
    @Test("READY=1 arrives before the first connection is accepted", arguments: ServerCommand.allCases)
    func readyBeforeFirstAccept(command: ServerCommand) throws {
        let receiver = try NotifyReceiver()
        let fillers = try receiver.fill()
        let listener = try LoopbackListener()
        defer { listener.socket.close() }
        let early = try LoopbackClient.connect(port: listener.port)
        defer { early.close() }
        try early.send(command == .app ? AppWire.searchRequest("morpheus") : Array("early".utf8))

        let server = try Activation.start(
            command.words,
            listener: listener,
            environment: ["NOTIFY_SOCKET": receiver.address]
        )
        #expect(try server.listeningPort() == listener.port)
        // The server is now at (or before) READY=1, which cannot be delivered: for a second, nothing is accepted.
        let held = ContinuousClock.now + .seconds(1)
        while ContinuousClock.now < held {
            let queued = try ResilienceSockets.acceptQueue(port: listener.port)
            let answer = try? early.readSome(timeout: .milliseconds(100))
            guard queued == 1, answer == nil else {
                Issue.record(
                    "accepted before READY=1: accept queue \(String(describing: queued)), answer \(String(describing: answer))"
                )
                break
            }
        }
        #expect(!server.stdoutLines.contains { $0.hasPrefix(command.acceptedPrefix) })

        var seen: [String] = []
        let ready = receiver.next(startingWith: "READY=1", timeout: .seconds(20), seen: &seen)
        #expect(ready == "READY=1\nSTATUS=Listening on 127.0.0.1:\(listener.port)", "\(seen.suffix(3))")
        #expect(seen.count == fillers + 1, "READY=1 was not the server's first message: \(seen.suffix(3))")
        // Now it accepts the connection that waited.
        _ = try server.waitForLine { $0.hasPrefix(command.acceptedPrefix) }
        if command == .app {
            #expect(AppWire.result(of: try early.readFrame()) == "Follow the white rabbit. \u{1F430}")
        }
        #expect(try server.terminate() == 0, "\(server.transcript)")
    }

    @Test(
        "STOPPING=1 when SIGTERM or SIGHUP begins the drain, after READY=1",
        arguments: ServerCommand.allCases,
        [SIGTERM, SIGHUP]
    )
    func stoppingAtSignal(command: ServerCommand, signal: CInt) throws {
        let receiver = try NotifyReceiver()
        let server = try ChildProcess(
            sockettool: command.words + ["127.0.0.1", "0"],
            environment: ["NOTIFY_SOCKET": receiver.address]
        )
        let port = try server.listeningPort()
        var seen: [String] = []
        #expect(receiver.next(startingWith: "READY=1", seen: &seen) != nil, "\(server.transcript)")
        try command.exchange(port: port)
        server.send(signal)
        let stopping = receiver.next(startingWith: "STOPPING=1", seen: &seen)
        #expect(stopping?.hasPrefix("STOPPING=1\nSTATUS=Stopping (\(signalName(signal)))") == true, "\(seen)")
        #expect(try server.waitForExit() == 0, "\(server.transcript)")
        #expect(seen.first?.hasPrefix("READY=1") == true, "\(seen)")
    }

    @Test("WATCHDOG=1 arrives on time: half of WATCHDOG_USEC, from the loop", arguments: ServerCommand.allCases)
    func watchdogPings(command: ServerCommand) throws {
        let receiver = try NotifyReceiver()
        let server = try ChildProcess(
            sockettool: command.words + ["127.0.0.1", "0"],
            environment: ["NOTIFY_SOCKET": receiver.address, "WATCHDOG_USEC": "1000000"]
        )
        _ = try server.listeningPort()
        var seen: [String] = []
        // Pings every 0.5 s; the deadline is generous (the suite runs on two busy cores): arrival, not speed.
        for _ in 0..<3 {
            #expect(receiver.next(startingWith: "WATCHDOG=1", timeout: .seconds(15), seen: &seen) != nil, "\(seen)")
        }
        #expect(try server.terminate() == 0, "\(server.transcript)")
    }

    @Test("STATUS= follows the counts; an abstract NOTIFY_SOCKET (@name) works as a path does")
    func statusWithLiveCounts() throws {
        let receiver = try NotifyReceiver(abstract: true)
        let server = try ChildProcess(
            sockettool: ["serve", "app", "127.0.0.1", "0"],
            environment: ["NOTIFY_SOCKET": receiver.address]
        )
        let port = try server.listeningPort()
        var seen: [String] = []
        #expect(receiver.next(startingWith: "READY=1", seen: &seen) != nil)
        for _ in 0..<2 { try ServerCommand.app.exchange(port: port) }
        // Refreshed every 2 s when it changed: an earlier one may still show the first request only.
        let status = receiver.receive(until: { $0.contains("2 requests") }, timeout: .seconds(20), seen: &seen)
        #expect(
            status == "STATUS=Listening on 127.0.0.1:\(port): 0 open, 2 accepted, 2 requests",
            "\(seen)"
        )
        #expect(try server.terminate() == 0)
    }

    @Test("without NOTIFY_SOCKET nothing is sent and nothing changes; an unreachable one costs one warning")
    func unreachableManager() throws {
        let receiver = try NotifyReceiver()
        let gone = receiver.address + ".gone"
        let server = try ChildProcess(
            sockettool: ["serve", "app", "127.0.0.1", "0"],
            environment: ["NOTIFY_SOCKET": gone, "WATCHDOG_USEC": "200000"]
        )
        let port = try server.listeningPort()
        for _ in 0..<3 { try ServerCommand.app.exchange(port: port) }
        #expect(try server.terminate() == 0)
        let warnings = server.stderrText.split(separator: "\n").filter { $0.contains("cannot notify") }
        #expect(warnings.count == 1, "\(server.stderrText)")
    }

    @Test(
        "under systemd-socket-activate: READY=1 reaches the NOTIFY_SOCKET it passes on, and the request is answered",
        .enabled(if: Activation.socketActivate != nil, "systemd-socket-activate is not installed (Debian: systemd)")
    )
    func readyUnderSocketActivate() throws {
        let receiver = try NotifyReceiver()
        let listener = try LoopbackListener()
        defer { listener.socket.close() }
        let server = try Activation.startUnderSocketActivate(
            ["serve", "app"],
            listener: listener,
            environment: ["NOTIFY_SOCKET": receiver.address]
        )
        try ServerCommand.app.exchange(port: listener.port)
        var seen: [String] = []
        #expect(receiver.next(startingWith: "READY=1", seen: &seen) != nil, "\(server.transcript)")
        server.send(SIGTERM)
        #expect(receiver.next(startingWith: "STOPPING=1", seen: &seen) != nil, "\(seen)")
        #expect(try server.waitForExit() == 0, "\(server.transcript)")
    }
}
