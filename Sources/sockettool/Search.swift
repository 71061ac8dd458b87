// Search.swift -- `search`: the guide's app-client.py.
import ArgumentParser
import Glibc
import SocketCore

struct Search: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "app-client.py: one app-protocol request, and the result.",
        usage: """
            sockettool search <host> <port> <value> [<options>]
              sockettool search --unix <path> <value> [<options>]
            """,
        discussion: """
            Sends {"action": "search", "value": VALUE} as the guide's client does
            and prints the answer. --binary sends the guide's binary request
            instead (app-client.py HOST PORT binary VALUE). Exits 0 only when a
            whole, valid response arrived.

            Examples:
              sockettool search 127.0.0.1 65432 morpheus
                  Got result: Follow the white rabbit. 🐰
              sockettool search 127.0.0.1 65432 --binary 😃
                  Got response: b'First 10 bytes of request: binary\\xf0\\x9f\\x98\\x83'
              sockettool search 127.0.0.1 65432 --action frob x
                  Got result: Error: invalid action 'frob'.
              sockettool search 127.0.0.1 65432 --binary --action frob x
                  Got response: b'First 10 bytes of request: frobx'
              sockettool search 127.0.0.1 65432 morpheus --byteorder big
                  Sending b'\\x00d{"byteorder": "big", ...': the guide's 143 bytes
              sockettool search 127.0.0.1 65432 morpheus --duration 5 --concurrency 128
                  load: requests per second and latency percentiles
              sockettool search --unix /tmp/app.sock morpheus
                  the same request over a Unix domain socket ('serve app --unix')
            """
    )

    @Argument(help: ArgumentHelp("Server name or address (with --unix, the value).", valueName: "host"))
    var host: String?

    @Argument(help: ArgumentHelp("Server port or service name (http).", valueName: "port"))
    var port: String?

    @Argument(help: ArgumentHelp("What to search for.", valueName: "value"))
    var valueArgument: String?

    /// What to search for: the third argument, or with --unix the only one.
    var value: String { (dial.unixPath != nil ? host : valueArgument) ?? "" }

    /// The server's host and port arguments (validated: present unless --unix).
    var server: (host: String, port: String) { (host ?? "", port ?? "") }

    @Option(
        help: ArgumentHelp(
            "The request's action (the server knows only 'search'); with --binary, the content's first word.",
            valueName: "name"
        )
    )
    var action: String?

    @Flag(
        help: ArgumentHelp(
            "Send the guide's binary request (content type binary/custom-client-binary-type, content ACTION + VALUE, "
                + "ACTION 'binary' unless --action names one)."
        )
    )
    var binary = false

    @Option(
        help: ArgumentHelp(
            "The request header's byteorder: little or big (the guide's big-endian client). Default: this machine's.",
            valueName: "order"
        )
    )
    var byteorder: ByteOrder?

    @Option(help: ArgumentHelp("Largest response content accepted, in bytes.", valueName: "bytes"))
    var maxContent = ByteCount(bytes: FrameDecoder.defaultMaximumContentLength)

    @Option(help: ArgumentHelp("Load mode: make this many requests, then report req/s and latency.", valueName: "n"))
    var count: Int?

    @Option(
        parsing: .unconditional,
        help: ArgumentHelp("Load mode: make requests for this many seconds.", valueName: "seconds")
    )
    var duration: Seconds?

    @Option(
        help: ArgumentHelp("Load mode: requests in flight at once (one connection each). Default: 1.", valueName: "n")
    )
    var concurrency: Int?

    /// Requests in flight in load mode.
    var inFlight: Int { concurrency ?? 1 }

    @OptionGroup var dial: DialFlags
    @OptionGroup var load: LoadFlags
    @OptionGroup var client: ClientFlags
    @OptionGroup var output: OutputOptions

    func validate() throws {
        if dial.unixPath != nil {
            guard port == nil && valueArgument == nil else {
                throw ValidationError("--unix PATH replaces HOST and PORT: 'search --unix PATH VALUE'.")
            }
            guard host != nil else {
                throw ValidationError("Give the value to search for: 'search --unix PATH VALUE'.")
            }
            try dial.validate(hostOrPortGiven: false)
        } else {
            guard let host, let port, valueArgument != nil else {
                throw ValidationError("search needs HOST PORT VALUE (or --unix PATH VALUE).")
            }
            try refuseHostWithPort(host)
            _ = try parseServerPort(port)
        }
        if let count, count < 1 { throw ValidationError("--count must be at least 1.") }
        if let duration, duration <= 0 { throw ValidationError("--duration must be more than 0 seconds.") }
        if count != nil && duration != nil { throw ValidationError("Choose one of --count and --duration.") }
        // Asked first: a range check on an option that does not apply would send the user the wrong way.
        if !isLoad {
            try LoadFlags.refuseOutsideLoadMode(
                [("--concurrency", concurrency != nil), ("--threads", load.threads != nil)],
                loadFlags: "--count or --duration"
            )
        }
        if inFlight < 1 { throw ValidationError("--concurrency must be at least 1.") }
        if load.threadCount > inFlight { throw ValidationError("--threads cannot exceed --concurrency.") }
    }

    var isLoad: Bool { count != nil || duration != nil }

    /// app-client.py's request: text/json for an action, binary content (ACTION + VALUE) with --binary.
    var request: Frame {
        var frame =
            binary
            ? AppProtocol.binaryRequest(action: action ?? "binary", value: value)
            : AppProtocol.searchRequest(action: action ?? "search", value: value)
        if let byteorder { frame.header.byteOrder = byteorder }
        return frame
    }

    func run() throws {
        let log = output.makeLog()
        let serverArguments = dial.unixPath.map { "--unix \($0)" } ?? "\(shellWord(server.host)) \(server.port)"
        try reportingFailures(log, server: "sockettool serve app \(serverArguments)", results: log.output) {
            ignoreBrokenPipeSignal()
            let target =
                try dial.unixPath.map { DialTarget(try unixAddress($0)) }
                ?? dial.target(host: server.host, port: try parseServerPort(server.port))
            if isLoad {
                try runLoad(target, log: log)
                return
            }
            _ = try SearchClient.run(
                target: target,
                request: request,
                options: client.options,
                maximumContentLength: maxContent.bytes,
                log: log,
                reactor: try Reactor(kind: try Backend.fromEnvironment())
            )
        }
    }

    private func runLoad(_ target: DialTarget, log: EventLog) throws {
        DescriptorLimit.raiseToHardLimit()
        let threads = load.threadCount
        let deadline = duration.map { MonotonicClock.now() &+ $0.asDuration.nanoseconds } ?? .max
        let (request, count, concurrency, maxContent) = (request, count, inFlight, maxContent.bytes)
        let clientOptions = client.options
        let progress = LoadProgress()
        let printer = LoadProgressPrinter(log: log, unit: "req")
        let report = try runInterruptibleLoad(threads: threads, progress: progress, printer: printer) { index in
            let slots = concurrency * (index + 1) / threads - concurrency * index / threads
            let options = SearchLoadOptions(
                target: target,
                request: request,
                concurrency: slots,
                count: count,
                deadline: deadline,
                client: clientOptions,
                maximumContentLength: maxContent
            )
            return SearchLoadWorker(
                reactor: try Reactor(kind: try Backend.fromEnvironment()),
                options: options,
                progress: progress
            )
        }
        let lines = [
            "Search load against \(target.first): \(concurrency) concurrent, \(NumberFormat.duration(nanoseconds: report.nanoseconds))",
            "  requests    \(NumberFormat.grouped(report.completed)) ok (\(NumberFormat.grouped(Int(report.rate.rounded()))) req/s), every response checked",
            "  latency     \(report.latencyText)",
            "  failures    \(report.failureText)",
        ]
        let fields: [(String, JSONValue)] = [
            ("mode", .string("search")), ("concurrency", .int(concurrency)), ("requests", .int(report.completed)),
            ("requests_per_s", .double(report.rate, decimals: 1)),
        ]
        try reportLoad(
            report,
            lines: lines,
            fields: fields,
            attempts: report.completed + report.failureCount,
            unit: "requests",
            log: log
        )
    }
}

extension ByteOrder: ExpressibleByArgument {}
