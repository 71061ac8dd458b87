// TracedPacket+JSON.swift -- `trace --json`: one "packet" event per packet (tshark's fields, the frames
// decoded under it) and one "summary" event at the end.

extension TracedPacket {
    /// The members besides "event".
    public var fields: [(String, JSONValue)] {
        var fields: [(String, JSONValue)] = [
            ("number", .int(number)), ("time", .double(relativeTime, decimals: 6)), ("source", .string(source)),
            ("destination", .string(destination)), ("protocol", .string(protocolName)), ("length", .int(wireLength)),
        ]
        if let tcp {
            fields += [
                ("flags", .array(tcp.flags.names.map { .string($0) })), ("seq", .int(tcp.relativeSequence)),
                ("ack", tcp.relativeAcknowledgment.map { .int($0) } ?? .null), ("win", .int(tcp.window)),
                ("len", .int(tcp.length)), ("options", .array(tcp.options.map { .string($0) })),
                ("analysis", .array(tcp.analysis.map { .string($0) })),
            ]
        }
        if let udpLength { fields.append(("len", .int(udpLength))) }
        if let fromClient {
            fields.append(("direction", .string(fromClient ? "client_to_server" : "server_to_client")))
        }
        if !frames.isEmpty { fields.append(("frames", .array(frames.map(\.json)))) }
        if let frameProblem { fields.append(("frame_problem", .string(frameProblem))) }
        if let problem { fields.append(("problem", .string(problem))) }
        return fields
    }
}

extension AppFrame {
    /// A frame as a JSON object: its sizes, header, meaning and content (parsed JSON, or base64 bytes).
    var json: JSONValue {
        var members = [
            JSONMember("role", .string(role.rawValue)), JSONMember("length", .int(totalLength)),
            JSONMember("header_length", .int(headerLength)), JSONMember("content_length", .int(content.count)),
            JSONMember("content_type", .string(header.contentType)),
            JSONMember("content_encoding", .string(header.contentEncoding)), JSONMember("meaning", .string(meaning)),
            JSONMember("first_packet", .int(firstPacket)),
        ]
        if header.isJSON, let value = try? JSONParser.parse(content) {
            members.append(JSONMember("content", value))
        } else {
            members.append(JSONMember("content_base64", .string(Base64.encode(content))))
        }
        members.sort { $0.key < $1.key }
        return .object(members)
    }
}

extension TraceAnalyzer {
    /// The "summary" event's members.
    public func summaryFields(dropped: Int) -> [(String, JSONValue)] {
        let list = connections.map { connection -> JSONValue in
            var members = [
                JSONMember("client", .string(connection.client)), JSONMember("server", .string(connection.server)),
                JSONMember("packets", .int(connection.packets.count)),
                JSONMember("handshake_seen", .bool(connection.sawHandshake)),
                JSONMember("first_fin_packet", connection.firstFin.map { .int($0.packet) } ?? .null),
                JSONMember(
                    "first_fin_by",
                    connection.firstFin.map { .string($0.fromClient ? "client" : "server") } ?? .null
                ),
                JSONMember("simultaneous_close", .bool(connection.simultaneousClose)),
                JSONMember("reset_packet", connection.reset.map { .int($0.packet) } ?? .null),
                JSONMember("time_wait", .array(connection.timeWaitSides.map { .string($0 ? "client" : "server") })),
            ]
            members.sort { $0.key < $1.key }
            return .object(members)
        }
        return [("packets", .int(packetCount)), ("dropped", .int(dropped)), ("connections", .array(list))]
    }
}
