// SocketTool.swift -- the root command: configuration only. Each subcommand lives in its own file.
import ArgumentParser
import SocketCore

@main
struct SocketTool: ParsableCommand {
    static let version = "0.1.0"

    static let configuration = CommandConfiguration(
        commandName: "sockettool",
        abstract:
            "The socket guide's programs, for real: echo, multi-connection, the app protocol, and the buffer-fill experiment.",
        discussion: """
            Each command is one program of "Socket Programming in Python", built on one poll() event loop and one
            framing module, printing the guide's event lines (or NDJSON with --json).

            Echo Client and Server:
              sockettool serve echo 127.0.0.1 65432        echo-server.py: one client, blocking socket
              sockettool connect 127.0.0.1 65432           echo-client.py: sends 'Hello, world'
            Multi-Connection Client and Server:
              sockettool serve multi 127.0.0.1 65432       multiconn-server.py on the event loop
              sockettool connect 127.0.0.1 65432 --conns 2 multiconn-client.py
            Application Client and Server:
              sockettool serve app 0.0.0.0 65432           app-server.py: the JSON-header protocol
              sockettool search 127.0.0.1 65432 morpheus   app-client.py: Got result: Follow the white rabbit. 🐰
            Troubleshooting (netstat: Recv-Q and Send-Q):
              sockettool flood                             fill the kernel's buffers and watch the queues

            Exit status:
            \(ExitStatus.table.map { "  \(String($0.0).padding(to: 4))\($0.1)" }.joined(separator: "\n"))
            """,
        version: version,
        subcommands: [Serve.self, Connect.self, Search.self, Flood.self]
    )
}

extension String {
    /// Left-aligned in a column of `width` characters.
    func padding(to width: Int) -> String {
        count >= width ? self + " " : self + String(repeating: " ", count: width - count)
    }
}
