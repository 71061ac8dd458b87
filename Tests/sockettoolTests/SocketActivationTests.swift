// SocketActivationTests.swift -- systemd socket activation (issue 15): every server serves on the listening
// socket it is passed as descriptor 3 instead of binding; a restart refuses no connection; a socket it
// cannot serve on is a clear error; nothing changes when the variables are not meant for it; and under the
// real systemd-socket-activate, requests are answered on the passed socket.
import Foundation
import Glibc
import SocketCore
import Testing

@testable import sockettool

@Suite("systemd socket activation")
struct SocketActivationTests {
    @Test("every server serves on the passed socket, and says where", arguments: ServerCommand.allCases)
    func servesOnThePassedSocket(command: ServerCommand) throws {
        let listener = try LoopbackListener()
        defer { listener.socket.close() }
        let server = try Activation.start(command.words, listener: listener)
        #expect(try server.listeningPort() == listener.port, "\(server.transcript)")
        try command.exchange(port: listener.port)
        _ = try server.waitForLine { $0.hasPrefix(command.acceptedPrefix) }
        #expect(try server.terminate() == 0, "\(server.transcript)")
    }

    @Test("HOST and PORT given as well: the passed socket wins, and a notice says so")
    func passedSocketWinsOverArguments() throws {
        let listener = try LoopbackListener()
        defer { listener.socket.close() }
        let server = try Activation.start(["serve", "app", "127.0.0.1", "1"], listener: listener)
        #expect(try server.listeningPort() == listener.port)
        try ServerCommand.app.exchange(port: listener.port)
        #expect(try server.terminate() == 0)
        #expect(
            server.stderrText.contains("socket activation: serving on the passed socket (127.0.0.1:\(listener.port))")
        )
    }

    @Test("a restart refuses nothing: a client that connects while no server runs is answered by the next one")
    func restartRefusesNothing() throws {
        let listener = try LoopbackListener()
        defer { listener.socket.close() }
        let first = try Activation.start(["serve", "app"], listener: listener)
        _ = try first.listeningPort()
        try ServerCommand.app.exchange(port: listener.port)
        #expect(try first.terminate() == 0)

        // The socket is still the test's (as it stays systemd's): the kernel completes the handshake and queues.
        let waiting = try LoopbackClient.connect(port: listener.port)
        defer { waiting.close() }
        try waiting.send(AppWire.searchRequest("ring"))
        let second = try Activation.start(["serve", "app"], listener: listener)
        _ = try second.listeningPort()
        let frame = try waiting.readFrame(timeout: .seconds(10))
        #expect(AppWire.result(of: frame) == "In the caves beneath the Misty Mountains. \u{1F48D}")
        #expect(try second.terminate() == 0)
    }

    @Test(
        "LISTEN_PID naming another process, or no LISTEN_PID: the server binds HOST PORT as always",
        arguments: ["LISTEN_PID=1 LISTEN_FDS=1", "LISTEN_FDS=1"]
    )
    func variablesForAnotherProcessChangeNothing(variables: String) throws {
        let listener = try LoopbackListener()
        defer { listener.socket.close() }
        let server = try ChildProcess(
            "/bin/sh",
            ["-c", "\(variables) exec \"$0\" \"$@\"", ChildProcess.sockettool, "serve", "app", "127.0.0.1", "0"],
            passing: [listener.socket.descriptor]
        )
        let port = try server.listeningPort()
        #expect(port != listener.port, "the passed socket was used")
        try ServerCommand.app.exchange(port: port)
        #expect(try server.terminate() == 0)
        #expect(!server.stderrText.contains("socket activation"), "\(server.transcript)")
    }

    @Test("a passed socket a server cannot serve on: exit 73 and the reason, never a socket of its own")
    func unusableSocketIsAnError() throws {
        let udp = socket(AF_INET, CInt(SOCK_DGRAM.rawValue) | CInt(SOCK_CLOEXEC.rawValue), 0)
        defer { close(udp) }
        let listener = try LoopbackListener()
        defer { listener.socket.close() }
        let cases: [(descriptors: [CInt], count: Int, names: String?, message: String)] = [
            ([udp], 1, nil, "it is a SOCK_DGRAM socket, not SOCK_STREAM"),
            (
                [listener.socket.descriptor, listener.socket.descriptor], 2, "web:admin",
                "passed 2 sockets (web, admin)"
            ),
            ([listener.socket.descriptor], 1, "a:b", "LISTEN_FDNAMES names 2 descriptors, LISTEN_FDS passes 1"),
        ]
        for (descriptors, count, names, message) in cases {
            let nameVariable = names.map { " LISTEN_FDNAMES='\($0)'" } ?? ""
            let server = try ChildProcess(
                "/bin/sh",
                [
                    "-c", "LISTEN_PID=$$ LISTEN_FDS=\(count)\(nameVariable) exec \"$0\" \"$@\"",
                    ChildProcess.sockettool, "serve", "multi",
                ],
                passing: descriptors
            )
            #expect(try server.waitForExit() == ExitStatus.cannotListen, "\(server.transcript)")
            #expect(server.stderrText.contains(message), "\(server.transcript)")
            #expect(server.stderrText.contains("hint:"), "\(server.transcript)")
            #expect(!server.stdoutLines.contains { $0.hasPrefix("Listening on") }, "\(server.transcript)")
        }
    }

    @Test("the variables are read once and cleared, so no program the server starts inherits them")
    func variablesAreCleared() throws {
        var environment = [
            "LISTEN_PID": "77", "LISTEN_FDS": "1", "LISTEN_FDNAMES": "app", "NOTIFY_SOCKET": "/run/notify",
            "WATCHDOG_USEC": "10", "PATH": "/bin",
        ]
        let log = EventLog(output: OutputBuffer { _ in }, diagnostics: OutputBuffer { _ in })
        let settings = try ServiceEnvironment.take(
            log: log,
            processID: 77,
            reading: { environment[$0] },
            clearing: { for name in $0 { environment[name] = nil } }
        )
        #expect(settings.activation?.sockets == [.init(descriptor: 3, name: "app")])
        #expect(settings.notifySocket?.description == "/run/notify")
        #expect(environment == ["PATH": "/bin"])
    }

    // MARK: - Under systemd-socket-activate

    @Test(
        "under systemd-socket-activate: requests are answered on the socket it passes",
        .enabled(if: Activation.socketActivate != nil, "systemd-socket-activate is not installed (Debian: systemd)"),
        arguments: [ServerCommand.app, .multi, .echo]
    )
    func underSystemdSocketActivate(command: ServerCommand) throws {
        let listener = try LoopbackListener()
        defer { listener.socket.close() }
        let server = try Activation.startUnderSocketActivate(
            command.words,
            listener: listener,
            options: ["--fdname=\(command.rawValue)"]
        )
        // It starts sockettool when the first client connects: that client is answered by it.
        try command.exchange(port: listener.port)
        #expect(try server.listeningPort() == listener.port, "\(server.transcript)")
        try command.exchange(port: listener.port)
        #expect(try server.terminate() == 0, "\(server.transcript)")
        #expect(server.stderrText.contains("Execing"), "not started by systemd-socket-activate: \(server.transcript)")
    }

    @Test(
        "under systemd-socket-activate -l PATH: a Unix stream socket is served, and its file left to the manager",
        .enabled(if: Activation.socketActivate != nil, "systemd-socket-activate is not installed (Debian: systemd)"),
        arguments: [ServerCommand.app, .multi, .echo, .discard]
    )
    func unixSocketUnderSocketActivate(command: ServerCommand) throws {
        let directory = try ScratchDirectory()
        let path = directory.path + "/activated.sock"
        let server = try ChildProcess(
            try #require(Activation.socketActivate),
            ["-l", path, "-E", "SOCKETTOOL_BACKEND"] + Activation.sanitizerOptions + [ChildProcess.sockettool]
                + command.words
        )
        // It binds and listens before it waits for the first client; sockettool starts at that client.
        let bound = eventually { FileManager.default.fileExists(atPath: path) }
        try #require(bound, "systemd-socket-activate made no socket at \(path): \(server.transcript)")
        let client: [String] =
            switch command {
            case .app: ["search", "--unix", path, "morpheus"]
            case .discard: ["connect", "--unix", path, "--send-only", "--duration", "0.2", "-q"]
            default: ["connect", "--unix", path, "-m", "passed over a path", "-q"]
            }
        let run = try ChildProcess.sockettool(client)
        #expect(run.status == 0, "\(run.stderr)\n\(server.transcript)")
        if command == .app { #expect(run.stdout.contains("Follow the white rabbit. \u{1F430}"), "\(run.stdout)") }
        #expect(try server.waitForLine { $0.hasPrefix("Listening on ") } == "Listening on \(path)")
        _ = try server.waitForLine { $0.hasPrefix(command.acceptedPrefix) }
        #expect(try server.terminate() == 0, "\(server.transcript)")
        #expect(server.stderrText.contains("Execing"), "not started by systemd-socket-activate: \(server.transcript)")
        // The socket file is the manager's: the server did not bind it, so it does not remove it.
        #expect(FileManager.default.fileExists(atPath: path), "the server removed the manager's socket file")
    }

    @Test("an AF_UNIX socket passed to flood serve, which watches TCP's queues, is refused with the reason")
    func unixSocketRefusedByFlood() throws {
        let directory = try ScratchDirectory()
        let path = directory.path + "/flood.sock"
        let socket = try Socket.listening(on: try #require(SocketAddress(unixPath: path)))
        defer { socket.closeListener() }
        let server = try ChildProcess(
            "/bin/sh",
            ["-c", "LISTEN_PID=$$ LISTEN_FDS=1 exec \"$0\" \"$@\"", ChildProcess.sockettool, "flood", "serve"],
            passing: [socket.descriptor]
        )
        let status = try server.waitForExit(timeout: .seconds(20))
        #expect(status != 0, "\(server.transcript)")
        #expect(
            server.stderrText.contains("it is an AF_UNIX socket; this server serves AF_INET or AF_INET6"),
            "\(server.transcript)"
        )
    }
}
