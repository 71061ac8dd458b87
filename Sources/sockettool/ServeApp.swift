// ServeApp.swift -- `serve app`: the guide's app-server.py.
import ArgumentParser
import SocketCore

struct ServeApp: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "app",
        abstract: "app-server.py: the guide's protocol (2-byte length, JSON header, content).",
        discussion: """
            One request per connection, answered, then the connection closes.
            {"action": "search", "value": V} gets {"result": ...} from the guide's
            table (morpheus, ring, 🐶); another content type gets "First 10 bytes of
            request: ..." back. The bytes on the wire are the guide's own, so
            either side can be the guide's Python script.

            Bad input (broken header, missing keys, too big, too slow) gets
            {"result": "Error: ..."} where the framing allows, closes only that
            connection, and is logged as one line. docs/limits.md lists every
            limit and what happens when it is hit.

            Example:
              sockettool serve app 0.0.0.0 65432
              sockettool search 127.0.0.1 65432 morpheus   (in another terminal)
            """
    )

    @OptionGroup var endpoint: ServerEndpoint
    @OptionGroup var server: ServerFlags
    @OptionGroup var workers: WorkersFlag

    @Option(
        help: ArgumentHelp(
            "Largest request content accepted, in bytes; larger ones are refused at the header.",
            valueName: "bytes"
        )
    )
    var maxContent = ByteCount(bytes: FrameDecoder.defaultMaximumContentLength)

    @Option(
        help: ArgumentHelp(
            "Most request bytes held across all connections at once; a client that would pass it gets an "
                + "error. Default: 256 MiB, or 16 requests of --max-content if more.",
            valueName: "bytes"
        )
    )
    var maxBuffered: ByteCount?

    @Option(
        parsing: .unconditional,
        help: ArgumentHelp(
            "Seconds a client has for its whole request (and to read the response).",
            valueName: "seconds"
        )
    )
    var requestTimeout: Seconds = 10

    @OptionGroup var output: OutputOptions

    func validate() throws {
        // A TCP server: a service name /etc/services lists for UDP only is a usage error here, not at run.
        _ = try endpoint.resolved()
        try server.reuse.refuse(withUnix: endpoint.unixPath)
        // Smaller, the largest request allowed could never be served, and "try again" would be a lie.
        let oneRequest = maxContent.bytes + FrameEncoder.maximumHeaderLength + 2
        if let maxBuffered, maxBuffered.bytes < oneRequest {
            throw ValidationError(
                "--max-buffered must hold one whole request: at least --max-content + 65,537 bytes "
                    + "(\(NumberFormat.grouped(oneRequest)) here)."
            )
        }
        if requestTimeout <= 0 { throw ValidationError("--request-timeout must be more than 0 seconds.") }
    }

    func run() throws {
        let log = output.makeLog(flushPerLine: false)
        try reportingFailures(log) {
            let reactor = try Reactor(kind: try server.selectedBackend())
            let app = AppOptions(
                maxContentLength: maxContent.bytes,
                requestTimeout: requestTimeout.asDuration,
                maxBufferedBytes: maxBuffered?.bytes
            )
            let service = try ServiceEnvironment.take(log: log)
            let listener = try ServiceEnvironment.listener(service, endpointGiven: endpoint.isGiven, log: log)
            let options = server.options(
                address: try listener?.localAddress() ?? endpoint.address(log: log),
                loops: workers.workers
            )
            let sharing =
                workers.workers > 1 ? try ServerSharing(maxConnections: options.maxConnections, app: app) : nil
            // One recipe for every loop: the first binds (or takes the passed socket), the others get a copy.
            let makeServer = { @Sendable (reactor: Reactor, log: EventLog, socket: Socket?) throws in
                try ConnectionServer.app(
                    reactor: reactor,
                    options: options,
                    app: app,
                    log: log,
                    listeningSocket: socket,
                    sharing: sharing
                )
            }
            try runServer(
                try makeServer(reactor, log, listener),
                workers: workers,
                log: log,
                service: service,
                statsInterval: server.stats.statsInterval
            ) { try makeServer($0, $1, $2) }
        }
    }
}
