// EventLog+Connections.swift -- the guide's per-connection lines, built straight into the output buffer
// (a server prints several per request, so no String is made for them in text mode).

extension EventLog {
    /// "Listening on 127.0.0.1:65432", and a plain notice when that is every interface. The JSON event
    /// names the event loop's backend, when there is a loop, so a script (or a test pass) can tell which ran.
    func listening(on address: SocketAddress, backend: SelectorKind? = nil) {
        event(
            "listening",
            level: .quiet,
            text: "Listening on \(address)",
            fields: [("address", .string(address.description)), ("port", .int(address.port))]
                + (backend.map { [("backend", .string($0.rawValue))] } ?? [])
        )
        if address.isWildcard {
            flush()  // the notice (stderr) after the line it is about, whichever server buffers how
            notice("listening on every interface (\(address.host)): other machines can connect to port \(address.port)")
        }
    }

    /// "Caught keyboard interrupt, exiting" (the guide's words for Ctrl-C), "Caught SIGTERM, exiting" or
    /// "Caught SIGHUP, exiting", and the JSON fields naming the signal.
    public static func shutdownEvent(for signal: CInt) -> (text: String, fields: [(String, JSONValue)]) {
        let interrupt = signal == SignalNumber.interrupt
        return (
            interrupt ? "Caught keyboard interrupt, exiting" : "Caught \(signalName(signal)), exiting",
            [("signal", .string(signalName(signal)))]
        )
    }

    /// The shutdown line of a server.
    public func shutdown(_ signal: CInt) {
        let (text, fields) = Self.shutdownEvent(for: signal)
        event("shutdown", level: .quiet, text: text, fields: fields)
    }

    /// "Accepted connection from 127.0.0.1:54490"
    func accepted(_ peer: @autoclosure () -> String) {
        event("accepted", fields: [("peer", .string(peer()))]) { line in
            line.append(literal: "Accepted connection from ")
            line.append(text: peer())
        }
    }

    /// "Closing connection to 127.0.0.1:54490"
    func closing(_ peer: @autoclosure () -> String) {
        event("closed", fields: [("peer", .string(peer()))]) { line in
            line.append(literal: "Closing connection to ")
            line.append(text: peer())
        }
    }

    /// "Closing idle connection to 127.0.0.1:54490 (no traffic for 300 s)"
    func closingIdle(_ peer: String, after timeout: Duration) {
        let seconds = NumberFormat.fixed(Double(timeout.nanoseconds) / 1e9, decimals: 1)
        event(
            "idle_timeout",
            text: "Closing idle connection to \(peer) (no traffic for \(seconds) s)",
            fields: [("peer", .string(peer))]
        )
    }

    /// "Echoing b'...' to 127.0.0.1:54490" (multiconn-server.py)
    func echoing(_ chunk: UnsafeRawBufferPointer, to peer: @autoclosure () -> String) {
        event("received", fields: [("bytes", .int(chunk.count)), ("peer", .string(peer()))]) { line in
            line.append(literal: "Echoing ")
            ByteNotation.append(chunk, to: &line)
            line.append(literal: " to ")
            line.append(text: peer())
        }
    }

    /// "Echoed 44 bytes to 127.0.0.1:54490 in 3 reads over 1.20 ms" (verbose, at close): how the stream
    /// arrived in pieces, whatever sizes the client sent.
    func echoTotals(bytes: Int, reads: Int, nanoseconds: UInt64, peer: String) {
        guard wants(.verbose) else { return }
        event(
            "totals",
            level: .verbose,
            text: "Echoed \(NumberFormat.grouped(bytes)) bytes to \(peer) in \(NumberFormat.grouped(reads)) "
                + "read\(reads == 1 ? "" : "s") over \(NumberFormat.duration(nanoseconds: nanoseconds))",
            fields: [
                ("peer", .string(peer)), ("bytes", .int(bytes)), ("reads", .int(reads)),
                ("seconds", .double(Double(nanoseconds) / 1e9)),
            ]
        )
    }

    /// "Sending b'...' to 127.0.0.1:54490" (libserver.py's _write)
    func sending(_ bytes: [UInt8], to peer: @autoclosure () -> String) {
        event("sent", fields: [("bytes", .int(bytes.count)), ("peer", .string(peer()))]) { line in
            line.append(literal: "Sending ")
            bytes.withUnsafeBytes { ByteNotation.append($0, limit: 256, to: &line) }
            line.append(literal: " to ")
            line.append(text: peer())
        }
    }

    /// "Received request {'action': 'search', 'value': 'morpheus'} from 127.0.0.1:54490", or for binary
    /// content "Received binary/custom-client-binary-type request from ..." (libserver.py's process_request).
    func received(_ request: AppProtocol.Request, header: FrameHeader, from peer: @autoclosure () -> String) {
        var fields: [(String, JSONValue)] {
            var fields: [(String, JSONValue)] = [
                ("peer", .string(peer())), ("content_type", .string(header.contentType)),
                ("content_length", .int(header.contentLength)),
            ]
            if case .json(let document) = request { fields.append(("request", document)) }
            return fields
        }
        event("received", fields: fields) { line in
            switch request {
            case .json(let document):
                line.append(literal: "Received request ")
                // Long requests are cut so one request stays one readable line.
                let start = line.count
                PythonRepr.append(document, to: &line, limit: start + 200)
                if line.count > start + 200 {
                    // Cut on a character boundary: never leave half a UTF-8 sequence in the log.
                    var end = start + 200
                    while end > start && line[end] & 0xC0 == 0x80 { end -= 1 }
                    line.removeLast(line.count - end)
                    line.append(literal: "...")
                }
            case .binary(let contentType, _):
                line.append(literal: "Received ")
                line.append(text: ByteNotation.escapeForLog(contentType))
                line.append(literal: " request")
            }
            line.append(literal: " from ")
            line.append(text: peer())
        }
    }

    /// "error: 127.0.0.1:54490: <reason>": one escaped line per bad request or failed connection.
    func connectionError(_ reason: String, peer: String) {
        event(
            "error",
            level: .quiet,
            text: "error: \(peer): \(ByteNotation.escapeForLog(reason, limit: 300))",
            fields: [("peer", .string(peer)), ("message", .string(reason))]
        )
    }
}
