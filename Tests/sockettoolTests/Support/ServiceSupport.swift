// ServiceSupport.swift -- starting servers the way a service manager does: the test makes the listening
// socket (port 0: never a guessed port) and passes it as descriptor 3 with LISTEN_PID/LISTEN_FDS, directly
// or through systemd-socket-activate, which passes sockets it was given on to its child.
import Foundation
import Glibc
import SocketCore
import TestSupport

/// Every server command, as the words after `sockettool`.
enum ServerCommand: String, CaseIterable, CustomStringConvertible, Sendable {
    case echo, multi, app, discard, flood

    /// The command, with `--keep` for echo so it outlives its first client as the others do.
    var words: [String] {
        switch self {
        case .flood: ["flood", "serve"]
        case .echo: ["serve", "echo", "--keep"]
        case .multi, .app, .discard: ["serve", rawValue]
        }
    }
    var description: String { self == .flood ? "flood serve" : "serve \(rawValue)" }
    /// The line each prints when it takes a connection.
    var acceptedPrefix: String { self == .echo ? "Connected by" : "Accepted connection from" }

    /// One exchange a client of this server can check: an answered search (app), an echo (echo, multi),
    /// or, for the servers that never answer (discard, flood's receiver), bytes sent to a connection it
    /// accepts (the caller waits for the line).
    func exchange(port: UInt16) throws {
        let client = try LoopbackClient.connect(port: port)
        defer { client.close() }
        switch self {
        case .app:
            try client.send(AppWire.searchRequest("morpheus"))
            let frame = try client.readFrame(timeout: .seconds(10))
            guard AppWire.result(of: frame) == "Follow the white rabbit. \u{1F430}" else {
                throw LoopbackFailure("wrong answer: \(frame.content)")
            }
        case .echo, .multi:
            let message = Array("passed socket \(UInt32.random(in: 0...UInt32.max))".utf8)
            try client.send(message)
            guard try client.readExactly(message.count, timeout: .seconds(10)) == message else {
                throw LoopbackFailure("the echo differs")
            }
        case .discard, .flood:
            try client.send(Array("never answered".utf8))
        }
    }
}

enum Activation {
    /// systemd-socket-activate, when installed (Debian's systemd package; .ci/run installs it).
    static let socketActivate: String? = ["/usr/bin/systemd-socket-activate", "/bin/systemd-socket-activate"]
        .first { FileManager.default.isExecutableFile(atPath: $0) }

    /// Starts `sockettool ARGUMENTS` as systemd starts a socket-activated service: `listener` as descriptor
    /// 3, LISTEN_FDS=1 and LISTEN_PID the server's own pid (sh sets it, then execs: the pid stays).
    static func start(
        _ arguments: [String],
        listener: LoopbackListener,
        environment: [String: String] = [:],
        names: String? = nil,
        count: Int = 1
    ) throws -> ChildProcess {
        let names = names.map { " LISTEN_FDNAMES='\($0)'" } ?? ""
        return try ChildProcess(
            "/bin/sh",
            ["-c", "LISTEN_PID=$$ LISTEN_FDS=\(count)\(names) exec \"$0\" \"$@\"", ChildProcess.sockettool] + arguments,
            environment: environment,
            passing: [listener.socket.descriptor]
        )
    }

    /// -E for the sanitizer's options when the suite runs under one (make sanitize-address): the activator
    /// hands on only the variables it is told, and without ASAN_OPTIONS the child's leak check would fail
    /// its exit over what a server still holds when it exits.
    static var sanitizerOptions: [String] {
        let set = ["ASAN_OPTIONS", "TSAN_OPTIONS"].filter { ProcessInfo.processInfo.environment[$0] != nil }
        return set.flatMap { ["-E", $0] }
    }

    /// Starts `systemd-socket-activate [OPTIONS] sockettool ARGUMENTS` with `listener` passed to it (it hands
    /// passed sockets on), so no port is guessed. It execs sockettool once the first client connects, and
    /// passes on only the variables named with -E.
    static func startUnderSocketActivate(
        _ arguments: [String],
        listener: LoopbackListener,
        options: [String] = [],
        environment: [String: String] = [:]
    ) throws -> ChildProcess {
        guard let socketActivate else { throw LoopbackFailure("systemd-socket-activate is not installed") }
        let pass = ["SOCKETTOOL_BACKEND", "NOTIFY_SOCKET", "WATCHDOG_USEC"].flatMap { ["-E", $0] } + sanitizerOptions
        return try ChildProcess(
            "/bin/sh",
            ["-c", "LISTEN_PID=$$ LISTEN_FDS=1 exec \"$0\" \"$@\"", socketActivate] + pass + options
                + [ChildProcess.sockettool] + arguments,
            environment: environment,
            passing: [listener.socket.descriptor]
        )
    }
}

extension ChildProcess {
    /// SIGTERM, then the exit status.
    func terminate(timeout: Duration = .seconds(10)) throws -> Int32 {
        send(SIGTERM)
        return try waitForExit(timeout: timeout)
    }
}

extension NotifyReceiver {
    /// Datagrams until one starts with `prefix`, within `timeout`; every one seen is appended to `seen`.
    func next(startingWith prefix: String, timeout: Duration = .seconds(10), seen: inout [String]) -> String? {
        receive(until: { $0.hasPrefix(prefix) }, timeout: timeout, seen: &seen)
    }
}
