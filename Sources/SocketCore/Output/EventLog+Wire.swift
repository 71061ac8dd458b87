// EventLog+Wire.swift -- the -v lines that show what went over the wire: which local port a connection
// got (the number the server prints in "Accepted connection from ..."), and how a frame splits into its
// three parts.

extension EventLog {
    /// "Connected to 127.0.0.1:65432 from 127.0.0.1:54490 in 85 µs" (verbose); with `connection`, the line
    /// starts "Connection 2 connected to".
    public func connected(_ socket: Socket, to peer: SocketAddress, startedAt start: UInt64, connection: Int? = nil) {
        guard wants(.verbose) else { return }
        let elapsed = MonotonicClock.now() &- start
        // A Unix client that did not bind has no name: say so rather than print nothing.
        let local =
            (try? socket.localAddress()).map { $0.description.isEmpty ? "an unnamed socket" : $0.description } ?? "?"
        var fields: [(String, JSONValue)] = [
            ("peer", .string(peer.description)), ("local", .string(local)),
            ("connect_us", .double(Double(elapsed) / 1e3)),
        ]
        if let connection { fields.append(("connection", .int(connection))) }
        let subject = connection.map { "Connection \($0) connected" } ?? "Connected"
        event(
            "connected",
            level: .verbose,
            text: "\(subject) to \(peer) from \(local) in \(NumberFormat.duration(nanoseconds: elapsed))",
            fields: fields
        )
    }

    /// Which way a frame went, seen from this program.
    public enum FrameDirection: String, Sendable {
        case requestIn = "request_in"
        case responseOut = "response_out"
        case requestOut = "request_out"
        case responseIn = "response_in"

        /// "Request frame from", "Response frame to", ...
        var words: String {
            switch self {
            case .requestIn: "Request frame from"
            case .responseOut: "Response frame to"
            case .requestOut: "Request frame to"
            case .responseIn: "Response frame from"
            }
        }
    }

    /// "Request frame from 127.0.0.1:54490: length prefix 00 67 (103) + 103-byte JSON header + 37-byte
    /// content = 142 bytes" (verbose). `headerLength` is the prefix's value as it was on the wire; `roundTrip`,
    /// for a response, the nanoseconds since the request was sent.
    public func frameLayout(
        _ direction: FrameDirection,
        peer: @autoclosure () -> String,
        headerLength: Int,
        contentLength: Int,
        roundTrip: UInt64? = nil
    ) {
        guard wants(.verbose) else { return }
        let peer = peer()
        let total = 2 + headerLength + contentLength
        let after = roundTrip.map { ", \(NumberFormat.duration(nanoseconds: $0)) after the request" } ?? ""
        let prefix =
            hexByte(UInt8(truncatingIfNeeded: headerLength >> 8)) + " "
            + hexByte(UInt8(truncatingIfNeeded: headerLength))
        var fields: [(String, JSONValue)] = [
            ("direction", .string(direction.rawValue)), ("peer", .string(peer)),
            ("header_length", .int(headerLength)), ("content_length", .int(contentLength)),
            ("total_bytes", .int(total)),
        ]
        if let roundTrip { fields.append(("round_trip_us", .double(Double(roundTrip) / 1e3))) }
        event(
            "frame",
            level: .verbose,
            text: "\(direction.words) \(peer): length prefix \(prefix) (\(headerLength)) + \(headerLength)-byte "
                + "JSON header + \(contentLength)-byte content = \(total) bytes\(after)",
            fields: fields
        )
    }
}
