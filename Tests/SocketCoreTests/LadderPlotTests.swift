// LadderPlotTests.swift -- `trace --plot`'s ladder diagram read back with an XML parser: one arrow per
// packet, each from the right side to the other, with the packet's flags and length; the frames' meaning,
// the socket calls, the states, the TIME_WAIT side; the spacing floor.
import Foundation
import SocketCore
import TestSupport
import Testing

@Suite struct LadderPlotTests {
    private func draw(_ frames: [[UInt8]], linkType: LinkType) throws -> ([TracedPacket], SVGDocument) {
        var analyzer = TraceAnalyzer()
        var packets: [TracedPacket] = []
        for (index, frame) in frames.enumerated() {
            // Microseconds apart, as on loopback: the spacing floor has to make them readable.
            packets.append(
                analyzer.add(frame[...], linkType: linkType, wireLength: frame.count, timestamp: Int64(index) * 2000)
            )
        }
        let svg = LadderPlot.svg(packets: packets, connections: analyzer.connections)
        return (packets, try SVGDocument(svg))
    }

    @Test("the guide's 13 packets: one arrow each, the right direction, flags and length; TIME_WAIT on the server")
    func guideExchange() throws {
        let segments = GuideCapture.segments(request: TraceDecoderTests.request, response: TraceDecoderTests.response)
        let (packets, document) = try draw(segments.map(\.loopbackFrame), linkType: .null)
        #expect(document.root == "svg" && document.rootAttributes["data-packets"] == "13")
        let clientX = try #require(document.rootAttributes["data-client-x"])
        let serverX = try #require(document.rootAttributes["data-server-x"])
        let arrows = document.elements(ofClass: "segment")
        #expect(arrows.count == packets.count)
        let lines = document.elements.filter { $0.name == "line" && $0.attributes["marker-end"] != nil }
        #expect(lines.count == packets.count)
        var previousY = -1.0
        for ((arrow, line), packet) in zip(zip(arrows, lines), packets) {
            #expect(packet.fromClient != nil)
            let fromClient = packet.fromClient ?? false
            #expect(arrow.attributes["data-number"] == String(packet.number))
            #expect(arrow.attributes["data-from"] == (fromClient ? "client" : "server"))
            #expect(
                line.attributes["x1"] == (fromClient ? clientX : serverX)
                    && line.attributes["x2"] == (fromClient ? serverX : clientX)
            )
            #expect(arrow.attributes["data-flags"] == packet.tcp?.flags.names.joined(separator: ","))
            #expect(arrow.attributes["data-len"] == String(packet.tcp?.length ?? -1))
            // Time runs down, and packets 2 µs apart are at least 40 units apart.
            let y = try #require(Double(line.attributes["y1"] ?? ""))
            let y2 = try #require(Double(line.attributes["y2"] ?? ""))
            #expect(y2 > y && y >= previousY + 40, "packet \(packet.number)")
            previousY = y
        }
        let texts = document.elements.filter { $0.name == "text" }.map(\.text)
        #expect(texts.contains("[PSH, ACK] Seq=1 Ack=1 Len=146"))
        #expect(texts.contains("request: search morpheus, 146 B"))
        #expect(texts.contains("response: result: Follow the white rabbit. 🐰, 148 B"))
        #expect(texts.contains("TCP Dup ACK 6#1") && texts.contains("TCP Window Update"))
        let calls = document.elements(ofClass: "call").map(\.text)
        #expect(calls.prefix(2) == ["listen()", "connect()"])
        #expect(calls.contains("send()") && calls.contains("recv() → 0 (EOF)") && calls.contains("shutdown()/close()"))
        for state in [
            "SYN_SENT", "SYN_RECV", "ESTABLISHED", "FIN_WAIT1", "CLOSE_WAIT", "FIN_WAIT2", "LAST_ACK", "TIME_WAIT",
            "CLOSED",
        ] {
            #expect(texts.contains(state), "the state \(state) is drawn")
        }
        let waiting = document.elements(ofClass: "time-wait")
        #expect(waiting.count == 1 && waiting.first?.attributes["data-side"] == "server")
    }

    @Test("the tutorial's picture is what trace --plot draws from the tutorial's capture (docs/search.pcap)")
    func tutorialPictureIsCurrent() throws {
        let docs = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().appendingPathComponent("docs")
        let (records, _) = try CaptureFileReader.read(
            [UInt8](try Data(contentsOf: docs.appendingPathComponent("search.pcap")))
        )
        var analyzer = TraceAnalyzer()
        let packets = records.map {
            analyzer.add($0.bytes, linkType: $0.linkType, wireLength: $0.wireLength, timestamp: $0.timestamp)
        }
        let drawn = LadderPlot.svg(packets: packets, connections: analyzer.connections)
        let committed = try String(contentsOf: docs.appendingPathComponent("search-ladder.svg"), encoding: .utf8)
        #expect(
            drawn == committed,
            "docs/search-ladder.svg is stale: sockettool trace --read docs/search.pcap --plot docs/search-ladder.svg"
        )
    }

    @Test("a capture with no TCP at all, and several connections: a note, one section each")
    func emptyAndSeveral() throws {
        let (_, empty) = try draw([], linkType: .ethernet)
        #expect(empty.elements.contains { $0.text == "No TCP connection in this capture." })
        var first = BuiltSegment()
        first.flags = 0x02
        var second = first
        second.source.port = 53943
        let (_, two) = try draw([first.ethernetFrame, second.ethernetFrame], linkType: .ethernet)
        #expect(two.elements(ofClass: "connection").count == 2 && two.elements(ofClass: "segment").count == 2)
        #expect(two.elements(ofClass: "time-wait").isEmpty)
    }
}
