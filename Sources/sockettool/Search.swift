// Search.swift -- `search`: the guide's app-client.py.
import ArgumentParser
import SocketCore

struct Search: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Send one app-protocol request and print the result (app-client.py).",
        discussion: """
            Sends {"action": "search", "value": VALUE} as the guide's client does (2-byte length, JSON header,
            content) and prints the server's answer. --binary sends the guide's binary request instead
            (app-client.py HOST PORT binary VALUE). Exits 0 only when a whole, valid response arrived.

            Examples:
              sockettool search 127.0.0.1 65432 morpheus     Got result: Follow the white rabbit. 🐰
              sockettool search 127.0.0.1 65432 🐶
              sockettool search 127.0.0.1 65432 --binary 😃  Got response: b'First 10 bytes of request: binary\\xf0\\x9f\\x98\\x83'
              sockettool search 127.0.0.1 65432 --action frob x   Got result: Error: invalid action 'frob'.
            """
    )

    @Argument(help: ArgumentHelp("Server name or address.", valueName: "host"))
    var host: String

    @Argument(help: ArgumentHelp("Server port.", valueName: "port"))
    var port: String

    @Argument(help: ArgumentHelp("What to search for.", valueName: "value"))
    var value: String

    @Option(help: ArgumentHelp("The request's action (the server knows only 'search').", valueName: "name"))
    var action: String = "search"

    @Flag(
        help:
            "Send the guide's binary request (content type binary/custom-client-binary-type, content 'binary' + VALUE)."
    )
    var binary = false

    @Option(help: ArgumentHelp("Largest response content accepted, in bytes.", valueName: "bytes"))
    var maxContent: Int = FrameDecoder.defaultMaximumContentLength

    @OptionGroup var client: ClientFlags
    @OptionGroup var output: OutputOptions

    func validate() throws {
        _ = try parsePort(port)
        if maxContent < 0 { throw ValidationError("--max-content must not be negative.") }
        if binary && action != "search" { throw ValidationError("--binary sends the action 'binary'; drop --action.") }
    }

    var request: Frame {
        binary ? AppProtocol.binaryRequest(value: value) : AppProtocol.searchRequest(action: action, value: value)
    }

    func run() throws {
        let log = output.makeLog()
        try reportingFailures(log) {
            ignoreBrokenPipeSignal()
            let addresses = try AddressResolver.clientAddresses(host: host, port: try parsePort(port))
            _ = try SearchClient.run(
                addresses: addresses,
                request: request,
                options: client.options,
                maximumContentLength: maxContent,
                log: log
            )
        }
    }
}
