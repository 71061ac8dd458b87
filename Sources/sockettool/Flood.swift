// Flood.swift -- `flood`: the guide's Send-Q/Recv-Q experiment (app-server-test.py, app-client-test.py).
import ArgumentParser

struct Flood: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Fill the kernel's socket buffers and watch Recv-Q and Send-Q (the guide's netstat experiment).",
        discussion: """
            The guide's Troubleshooting section: a server accepts a connection and
            never calls recv(); a client calls send() on a non-blocking socket until
            the kernel answers EAGAIN ("Resource temporarily unavailable"). Every
            byte send() accepted is then waiting in kernel memory, in the server's
            Recv-Q and the client's Send-Q: the columns netstat and ss show.
            sockettool reads those queues from the kernel while they fill, and ends
            with a netstat-like table and what it means.

            With no HOST and PORT, both ends run in this process on a free loopback
            port: one command for a class. With HOST and PORT it is the sender
            against any server, and 'flood serve' is the receiver.

            Examples:
              sockettool flood                        the whole experiment
              sockettool flood --sndbuf 4096 --rcvbuf 4096
                                                      small buffers: full at once
              sockettool flood --drain 64k            the receiver reads 64 KiB/s
              sockettool flood --plot queues.svg      the queues over time
              sockettool flood --hold                 then look with 'ss -tn'
              sockettool flood serve 127.0.0.1 65432  accept, never read
              sockettool flood 127.0.0.1 65432        send until EAGAIN

            The demo's and the sender's options: 'sockettool flood send --help'.
            """,
        subcommands: [FloodSend.self, FloodServe.self],
        defaultSubcommand: FloodSend.self
    )
}
