// LadderPlot.swift -- `trace --plot FILE.svg`: each TCP connection of a capture as the textbooks draw TCP,
// a ladder: the client's and the server's time lines, one slanted arrow per segment labelled with its flags,
// relative Seq/Ack and Len (and the guide's message it completes), the socket calls at the ends, the TCP
// states down each line, and the side that keeps TIME_WAIT. Plain SVG text in flood's plot style.
//
// Time runs down to scale, with a floor: packets microseconds apart still get a readable spacing, and a
// long pause is cut short (marked ≈). Each arrow group carries data-* attributes so a program can read the
// picture back.

/// Draws the connections of a trace.
public enum LadderPlot {
    static let width = 920.0
    static let clientX = 250.0
    static let serverX = 690.0
    /// The least vertical room one segment gets, and the most a pause gets.
    static let minimumSpacing = 40.0
    static let maximumGap = 160.0
    /// How far an arrow drops from sender to receiver: the picture's stand-in for the trip across.
    static let slant = 16.0
    /// At most this many connections, and packets per connection, are drawn (a note says what was left out).
    public static let maximumConnections = 20
    public static let maximumPackets = 400

    /// The SVG document for `packets` (as `TraceAnalyzer` returned them) and the analyzer's connections.
    public static func svg(packets: [TracedPacket], connections: [TracedConnection]) -> String {
        let byNumber = Dictionary(packets.map { ($0.number, $0) }, uniquingKeysWith: { first, _ in first })
        var body = ""
        var y = 78.0
        for (index, connection) in connections.prefix(maximumConnections).enumerated() {
            let members = connection.packets.prefix(maximumPackets).compactMap { byNumber[$0] }
            let (section, height) = ladder(connection, index: index + 1, packets: members, top: y)
            body += section
            y += height + 30
        }
        if connections.count > maximumConnections {
            body += text(16, y, "\(connections.count - maximumConnections) more connections not drawn", fill: "#666666")
            y += 24
        }
        if connections.isEmpty {
            body += text(16, y + 10, "No TCP connection in this capture.", fill: "#666666")
            y += 40
        }
        var svg = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
        svg += "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"\(number(width))\" height=\"\(number(y))\""
        svg += " viewBox=\"0 0 \(number(width)) \(number(y))\" font-family=\"sans-serif\" font-size=\"13\""
        svg += " data-connections=\"\(connections.count)\" data-packets=\"\(packets.count)\""
        svg += " data-client-x=\"\(number(clientX))\" data-server-x=\"\(number(serverX))\">\n"
        svg += "<title>sockettool trace: the TCP connections of a capture, as ladder diagrams</title>\n"
        svg += "<defs>\n"
        for (name, colour) in palette {
            svg += "  <marker id=\"head-\(name)\" viewBox=\"0 0 10 10\" refX=\"10\" refY=\"5\" markerWidth=\"7\""
            svg +=
                " markerHeight=\"7\" orient=\"auto-start-reverse\"><path d=\"M 0 0 L 10 5 L 0 10 z\" fill=\"\(colour)\"/></marker>\n"
        }
        svg += "</defs>\n<rect width=\"100%\" height=\"100%\" fill=\"#ffffff\"/>\n"
        svg +=
            "<text x=\"16\" y=\"30\" font-size=\"18\" font-weight=\"bold\">sockettool trace: who sent what, when</text>\n"
        svg += text(
            16,
            52,
            "One arrow per TCP segment, time running down (to scale, with a minimum spacing; ≈ marks a pause cut short).",
            fill: "#444444"
        )
        return svg + body + "</svg>\n"
    }

    /// Arrow colours by kind of segment, as flood's plot uses them.
    static let palette: [(String, String)] = [
        ("syn", "#2d5a88"), ("data", "#4c78a8"), ("ack", "#888888"), ("fin", "#f58518"), ("rst", "#d62728"),
    ]

    private static func kind(_ tcp: TracedPacket.TCPView) -> String {
        if tcp.flags.contains(.rst) { return "rst" }
        if tcp.flags.contains(.syn) { return "syn" }
        if tcp.flags.contains(.fin) { return "fin" }
        return tcp.length > 0 ? "data" : "ack"
    }

    // MARK: - One connection

    private static func ladder(
        _ connection: TracedConnection,
        index: Int,
        packets: [TracedPacket],
        top: Double
    ) -> (String, Double) {
        var svg =
            "<g class=\"connection\" data-client=\"\(escape(connection.client))\" data-server=\"\(escape(connection.server))\">\n"
        let span = packets.first.map { "packets \($0.number)-\(packets.last?.number ?? $0.number)" } ?? "no packets"
        svg += "<text x=\"16\" y=\"\(number(top))\" font-size=\"15\" font-weight=\"bold\">"
        svg += escape("Connection \(index): \(connection.client) → \(connection.server), \(span)") + "</text>\n"
        let headY = top + 26
        svg += text(clientX, headY, "client " + connection.client, anchor: "middle", weight: "bold")
        svg += text(serverX, headY, "server " + connection.server, anchor: "middle", weight: "bold")
        if !connection.sawHandshake {
            svg += text(
                16,
                headY + 18,
                "(the capture began after the handshake: client and server guessed from the ports)",
                fill: "#666666"
            )
        }

        // Vertical positions: to scale, at least `minimumSpacing` apart, pauses capped.
        let firstY = headY + 48
        var positions: [Double] = []
        var breaks: [Double] = []
        let duration = max((packets.last?.relativeTime ?? 0) - (packets.first?.relativeTime ?? 0), 1e-9)
        let scale = Double(max(packets.count, 1)) * minimumSpacing / duration
        for (position, packet) in packets.enumerated() {
            guard position > 0, let previous = positions.last else {
                positions.append(firstY)
                continue
            }
            // A segment with a second label line (a frame, an expert note) needs room for it.
            let earlier = packets[position - 1]
            let floor = minimumSpacing + (earlier.frames.isEmpty && (earlier.tcp?.analysis.isEmpty ?? true) ? 0 : 18)
            let wanted = (packet.relativeTime - earlier.relativeTime) * scale
            if wanted > maximumGap { breaks.append(previous + maximumGap / 2) }
            positions.append(previous + min(max(floor, wanted), maximumGap))
        }
        let bottom = (positions.last ?? firstY) + slant + 40

        // The time lines, and where a pause was cut short.
        for x in [clientX, serverX] {
            svg += "<line x1=\"\(number(x))\" y1=\"\(number(headY + 10))\" x2=\"\(number(x))\" y2=\"\(number(bottom))\""
            svg += " stroke=\"#333333\" stroke-width=\"2\"/>\n"
        }
        for breakY in breaks {
            for x in [clientX, serverX] {
                svg += text(x + 6, breakY + 4, "≈", fill: "#666666")
            }
        }
        if connection.sawHandshake {
            svg += annotation(serverX, headY + 22, "listen()", side: .server)
        }

        var states = LadderStates()
        for (position, packet) in packets.enumerated() {
            guard let tcp = packet.tcp, let fromClient = packet.fromClient else { continue }
            let y = positions[position]
            let startX = fromClient ? clientX : serverX
            let endX = fromClient ? serverX : clientX
            let colour = kind(tcp)
            let frame = packet.frames.first
            svg +=
                "<g class=\"segment\" data-number=\"\(packet.number)\" data-from=\"\(fromClient ? "client" : "server")\""
            svg +=
                " data-to=\"\(fromClient ? "server" : "client")\" data-flags=\"\(tcp.flags.names.joined(separator: ","))\""
            svg +=
                " data-seq=\"\(tcp.relativeSequence)\" data-ack=\"\(tcp.relativeAcknowledgment.map(String.init) ?? "")\""
            svg += " data-len=\"\(tcp.length)\" data-time=\"\(NumberFormat.fixed(packet.relativeTime, decimals: 6))\""
            if let frame { svg += " data-frame=\"\(frame.role.rawValue)\" data-frame-length=\"\(frame.totalLength)\"" }
            svg += ">\n"
            svg +=
                "  <line x1=\"\(number(startX))\" y1=\"\(number(y))\" x2=\"\(number(endX))\" y2=\"\(number(y + slant))\""
            svg +=
                " stroke=\"\(palette.first { $0.0 == colour }!.1)\" stroke-width=\"\(colour == "data" ? "2.5" : "1.5")\""
            svg += " marker-end=\"url(#head-\(colour))\"/>\n"
            var label = "[\(tcp.flags.names.joined(separator: ", "))] Seq=\(tcp.relativeSequence)"
            if let ack = tcp.relativeAcknowledgment { label += " Ack=\(ack)" }
            label += " Len=\(tcp.length)"
            let middle = (clientX + serverX) / 2
            let labelY = y + slant / 2 - 5
            svg += "  " + text(middle, labelY, label, anchor: "middle", size: 12)
            if let frame {
                svg +=
                    "  "
                    + text(
                        middle,
                        labelY + 27,
                        "\(frame.role.rawValue): \(frame.meaning), \(frame.totalLength) B",
                        anchor: "middle",
                        size: 12,
                        fill: "#2d5a88",
                        weight: "bold"
                    )
            } else if !tcp.analysis.isEmpty {
                svg +=
                    "  "
                    + text(
                        middle,
                        labelY + 27,
                        tcp.analysis.joined(separator: ", "),
                        anchor: "middle",
                        size: 11,
                        fill: "#666666"
                    )
            }
            svg +=
                "  "
                + text(
                    16,
                    y + 4,
                    "\(packet.number)  " + NumberFormat.fixed(packet.relativeTime, decimals: 6) + " s",
                    size: 11,
                    fill: "#666666"
                )
            let calls = socketCalls(tcp, fromClient: fromClient)
            if let call = calls.sender {
                svg += "  " + annotation(startX, y + 4, call, side: fromClient ? .client : .server)
            }
            if let call = calls.receiver {
                svg += "  " + annotation(endX, y + slant + 4, call, side: fromClient ? .server : .client)
            }
            for change in states.advance(tcp, fromClient: fromClient) {
                let x = change.client ? clientX + 6 : serverX - 6
                let atY = (change.client == fromClient ? y : y + slant) + 14
                svg +=
                    "  "
                    + text(x, atY, change.state, anchor: change.client ? "start" : "end", size: 10, fill: "#888888")
            }
            svg += "</g>\n"
        }

        // The ending: who keeps TIME_WAIT.
        let waiting = connection.timeWaitSides
        for fromClient in [true, false] {
            let x = fromClient ? clientX : serverX
            let keeps = waiting.contains(fromClient)
            let label =
                keeps
                ? "TIME_WAIT (60 s)"
                : connection.reset != nil ? "reset" : connection.secondFin != nil ? "CLOSED" : "open"
            let boxWidth = keeps ? 124.0 : 64.0
            svg += "<g class=\"ending\(keeps ? " time-wait" : "")\" data-side=\"\(fromClient ? "client" : "server")\">"
            svg +=
                "<rect x=\"\(number(x - boxWidth / 2))\" y=\"\(number(bottom - 4))\" width=\"\(number(boxWidth))\" height=\"22\" rx=\"4\""
            svg +=
                " fill=\"\(keeps ? "#f58518" : "#eeeeee")\" fill-opacity=\"\(keeps ? "0.8" : "1")\" stroke=\"#888888\"/>"
            svg += text(x, bottom + 11, label, anchor: "middle", size: 12, weight: keeps ? "bold" : "normal")
            svg += "</g>\n"
        }
        if let first = connection.firstFin, !waiting.isEmpty {
            let who =
                connection.simultaneousClose
                ? "Both sides closed at once" : "The \(first.fromClient ? "client" : "server") closed first"
            svg += text(
                16,
                bottom + 40,
                "\(who) (FIN in packet \(first.packet)): it keeps the address pair in TIME_WAIT for 60 s.",
                fill: "#444444"
            )
        }
        svg += "</g>\n"
        return (svg, bottom + 50 - top)
    }

    /// The socket calls that cause a segment, at the sender's end and the receiver's, where they are known.
    static func socketCalls(_ tcp: TracedPacket.TCPView, fromClient: Bool) -> (sender: String?, receiver: String?) {
        let flags = tcp.flags
        if flags.contains(.rst) { return ("close(): RST", "recv() → ECONNRESET") }
        if flags.contains(.syn) { return flags.contains(.ack) ? (nil, "connect() returns") : ("connect()", nil) }
        if flags.contains(.fin) {
            return (
                tcp.length > 0 ? "send(), close()" : "shutdown()/close()",
                tcp.length > 0 ? "recv(), then 0" : "recv() → 0 (EOF)"
            )
        }
        if tcp.length > 0 { return ("send()", "recv()") }
        return (nil, nil)
    }

    private enum Side { case client, server }

    /// A socket call's name beside a time line: outside the ladder, so arrows and labels stay clear.
    private static func annotation(_ x: Double, _ y: Double, _ call: String, side: Side) -> String {
        let outside = side == .client ? x - 10 : x + 10
        return
            "<text class=\"call\" x=\"\(number(outside))\" y=\"\(number(y))\" text-anchor=\"\(side == .client ? "end" : "start")\" font-size=\"12\" fill=\"#2d5a88\" font-family=\"monospace\">"
            + escape(call) + "</text>\n"
    }

    // MARK: - Text

    private static func text(
        _ x: Double,
        _ y: Double,
        _ content: String,
        anchor: String = "start",
        size: Int = 13,
        fill: String = "#333333",
        weight: String = "normal"
    ) -> String {
        var svg = "<text x=\"\(number(x))\" y=\"\(number(y))\""
        if anchor != "start" { svg += " text-anchor=\"\(anchor)\"" }
        if size != 13 { svg += " font-size=\"\(size)\"" }
        if weight != "normal" { svg += " font-weight=\"\(weight)\"" }
        return svg + " fill=\"\(fill)\">" + escape(content) + "</text>\n"
    }

    private static func number(_ value: Double) -> String {
        var text = NumberFormat.fixed(value, decimals: 1)
        if text.hasSuffix(".0") { text.removeLast(2) }
        return text
    }

    private static func escape(_ text: String) -> String {
        FloodPlot.escape(ByteNotation.escapeForLog(text, limit: 200))
    }
}

/// The TCP state of each side down the ladder (RFC 9293's diagram), from the segments alone.
struct LadderStates {
    private var client = ""
    private var server = "LISTEN"
    /// The sequence number one past each side's FIN, once sent.
    private var clientFinEnd: UInt32?
    private var serverFinEnd: UInt32?

    /// The states that change with this segment: the sender's on sending it, the receiver's on getting it.
    mutating func advance(_ tcp: TracedPacket.TCPView, fromClient: Bool) -> [(client: Bool, state: String)] {
        let before = (client, server)
        var sender = fromClient ? client : server
        var receiver = fromClient ? server : client
        let flags = tcp.flags
        if flags.contains(.rst) {
            sender = "CLOSED"
            receiver = "CLOSED"
        } else if flags.contains(.syn) {
            if flags.contains(.ack) {
                sender = "SYN_RECV"
                receiver = "ESTABLISHED"
            } else {
                sender = "SYN_SENT"
                if receiver == "LISTEN" { receiver = "SYN_RECV" }
            }
        } else {
            // The ACK first: it may confirm the receiver's SYN or FIN.
            if flags.contains(.ack), let ack = tcp.relativeAcknowledgment {
                if receiver == "SYN_RECV" { receiver = "ESTABLISHED" }
                let receiverFin = fromClient ? serverFinEnd : clientFinEnd
                if let end = receiverFin, TraceAnalyzer.isBefore(end, orAt: ack) {
                    switch receiver {
                    case "FIN_WAIT1": receiver = "FIN_WAIT2"
                    case "CLOSING": receiver = "TIME_WAIT"
                    case "LAST_ACK": receiver = "CLOSED"
                    default: break
                    }
                }
            }
            if flags.contains(.fin) {
                let end = tcp.relativeSequence &+ UInt32(tcp.length) &+ 1
                if fromClient { clientFinEnd = end } else { serverFinEnd = end }
                sender = sender == "CLOSE_WAIT" ? "LAST_ACK" : "FIN_WAIT1"
                switch receiver {
                case "ESTABLISHED", "SYN_RECV": receiver = "CLOSE_WAIT"
                case "FIN_WAIT1": receiver = "CLOSING"
                case "FIN_WAIT2": receiver = "TIME_WAIT"
                default: break
                }
            }
        }
        if fromClient {
            client = sender
            server = receiver
        } else {
            server = sender
            client = receiver
        }
        var changes: [(client: Bool, state: String)] = []
        if client != before.0 && !client.isEmpty { changes.append((true, client)) }
        if server != before.1 { changes.append((false, server)) }
        return changes
    }
}
