// FloodTests.swift -- the buffer-fill experiment in this process, on loopback: the numbers it reports are the
// kernel's (checked against /proc/net/tcp and ss while the sockets are still open), small buffers fill at
// once, default ones hold megabytes, a drain paces the sender, and the plot is well-formed SVG.
import Foundation
import SocketCore
import TestSupport
import Testing

@Suite("flood: the Send-Q/Recv-Q experiment in one process")
struct FloodTests {
    // MARK: - Small buffers

    @Test("--sndbuf 4096 --rcvbuf 4096: saturated, exact queues that add up, as the kernel says")
    func smallBuffersFillAtOnceAndMatchTheKernel() throws {
        let captured = FloodCapturedLog()
        var kernelRows: [FloodProcRow?] = []
        var libraryEntry: KernelSocketEntry?
        let report = try FloodExperiment.runLocal(
            options: FloodOptions(sendBufferSize: 4096, receiveBufferSize: 4096),
            display: captured.makeDisplay()
        ) { report in
            // The sockets are still open here: read them back the way netstat and ss do.
            let sender = report.local.description
            let receiver = report.peer.description
            kernelRows = [
                try FloodKernelView.procRow(local: receiver, remote: sender),
                try FloodKernelView.procRow(local: sender, remote: receiver),
            ]
            libraryEntry = KernelTCPTable.entry(local: report.peer, remote: report.local)
        }

        #expect(report.ending == .saturated)
        let receiveQueue = try #require(report.receiveQueue)
        #expect(receiveQueue > 0)
        #expect(report.sendQueue > 0)
        #expect(receiveQueue + report.sendQueue == report.bytesAccepted)
        let first = try #require(report.firstWouldBlockBytes, "send() never said EAGAIN")
        #expect(first > 0 && first <= report.bytesAccepted)
        #expect(report.sendBuffer.atEnd == 8192, "the kernel doubles SO_SNDBUF")
        #expect(report.receiveBuffer?.atEnd == 8192, "the kernel doubles SO_RCVBUF")

        // The table: the receiver's row, then the sender's, with the same numbers as the summary.
        #expect(report.rows.count == 2)
        #expect(report.rows.first?.receiveQueue == receiveQueue)
        #expect(report.rows.last?.sendQueue == report.sendQueue)
        #expect(report.rows.allSatisfy { $0.state == "ESTABLISHED" })

        // The kernel's own view of the same two sockets.
        let receiverRow = try #require(kernelRows.first ?? nil, "receiver not in /proc/net/tcp")
        let senderRow = try #require(kernelRows.last ?? nil, "sender not in /proc/net/tcp")
        #expect(receiverRow.receiveQueue == receiveQueue)
        #expect(receiverRow.sendQueue == 0)
        #expect(senderRow.sendQueue == report.sendQueue)
        #expect(senderRow.receiveQueue == 0)
        #expect(receiverRow.state == 1 && senderRow.state == 1)
        #expect(libraryEntry?.receiveQueue == receiveQueue)

        // The guide's line, and the table as text.
        #expect(
            captured.lines.contains {
                $0.hasPrefix("send() would block (EAGAIN: Resource temporarily unavailable) after ")
                    && $0.contains(NumberFormat.grouped(first) + " bytes")
            },
            "\(captured.lines)"
        )
        #expect(captured.lines.contains { $0.hasPrefix("Proto Recv-Q Send-Q Local Address") } == false)
        report.emit(to: captured.makeDisplay())
        #expect(captured.lines.contains { $0.hasPrefix("Proto Recv-Q Send-Q Local Address") })
        #expect(
            captured.lines.contains {
                $0.contains("Bytes accepted by the kernel: \(NumberFormat.grouped(report.bytesAccepted))")
            }
        )
    }

    @Test(
        "ss -tn, iproute2's view, lists the queues the report gives",
        .enabled(if: FloodKernelView.ssPath != nil, "ss (iproute2) is not installed; .ci/run installs it")
    )
    func smallBuffersMatchSS() throws {
        var ssQueues: [(receive: Int, send: Int)?] = []
        let report = try FloodExperiment.runLocal(
            options: FloodOptions(sendBufferSize: 4096, receiveBufferSize: 4096),
            display: FloodCapturedLog().makeDisplay()
        ) { report in
            // The sockets are still open here.
            let sender = report.local.description
            let receiver = report.peer.description
            ssQueues = [
                try FloodKernelView.ssQueues(local: receiver, remote: sender),
                try FloodKernelView.ssQueues(local: sender, remote: receiver),
            ]
        }
        let receiveQueue = try #require(report.receiveQueue)
        let receiverSS = try #require(ssQueues.first ?? nil, "ss does not list the receiver")
        let senderSS = try #require(ssQueues.last ?? nil, "ss does not list the sender")
        #expect(receiverSS.receive == receiveQueue && receiverSS.send == 0)
        #expect(senderSS.receive == 0 && senderSS.send == report.sendQueue)
    }

    // MARK: - Default buffers

    @Test("default buffers: megabytes wait in the sender's Send-Q, all of them accounted for")
    func defaultBuffersHoldMegabytes() throws {
        let captured = FloodCapturedLog()
        var senderRow: FloodProcRow?
        let report = try FloodExperiment.runLocal(options: FloodOptions(), display: captured.makeDisplay()) { report in
            senderRow = try FloodKernelView.procRow(local: report.local.description, remote: report.peer.description)
        }
        #expect(report.ending == .saturated)
        #expect(report.sendQueue > 1 << 20, "Send-Q \(report.sendQueue)")
        #expect(report.sendQueue == senderRow?.sendQueue)
        #expect((report.receiveQueue ?? 0) + report.sendQueue == report.bytesAccepted)
        #expect(report.sendBuffer.requested == nil)
    }

    // MARK: - Drain

    @Test("--drain 256k: the receiver reads, never ahead of that rate, and every accepted byte is read or queued")
    func drainPacesTheReader() throws {
        let captured = FloodCapturedLog()
        let rate = 256 * 1024
        let report = try FloodExperiment.runLocal(
            options: FloodOptions(duration: .seconds(1), drainRate: rate),
            display: captured.makeDisplay()
        )
        #expect(report.ending == .duration)
        // A token bucket: a slow machine reads less, never more than the rate allows by then. How close it
        // comes to the rate is a figure for `make bench`.
        let measured = try #require(report.measuredDrainRate)
        #expect(report.drainedBytes > 0)
        #expect(measured <= Double(rate) * 1.001, "read \(measured) B/s, ahead of \(rate) B/s")
        // Bytes the receiver has but not yet acknowledged count in both queues, so the queues may exceed
        // what is left; never by more than a window.
        let elsewhere = try #require(report.bytesElsewhere)
        #expect(elsewhere <= report.drainedBytes)
        #expect(elsewhere >= report.drainedBytes - 4 * 65536)
    }

    // MARK: - Plot

    @Test("the SVG is well-formed XML with one point per sample, on the scale it declares")
    func plotIsWellFormed() throws {
        let report = try FloodExperiment.runLocal(
            options: FloodOptions(sendBufferSize: 4096, receiveBufferSize: 4096, quietPeriod: .milliseconds(150)),
            display: FloodCapturedLog().makeDisplay()
        )
        let svg = FloodPlot.svg(report)
        let document = try SVGDocument(svg)
        #expect(document.root == "svg")
        #expect(document.rootAttributes["data-samples"] == String(report.samples.count))
        let queued = try #require(document.points["queued"])
        let receive = try #require(document.points["recv-q"])
        #expect(queued.count == report.samples.count)
        #expect(receive.count == report.samples.count)

        // Read the last point back through the declared scale: it is Recv-Q + Send-Q of the last sample.
        let plot = try #require(document.rootAttributes["data-plot"]).split(separator: " ").compactMap { Double($0) }
        let yMaximum = try #require(Double(document.rootAttributes["data-y-max"] ?? ""))
        #expect(plot.count == 4)
        let last = try #require(queued.last)
        let bytes = (plot[3] - last.y) / (plot[3] - plot[1]) * yMaximum
        let expected = Double((report.samples.last?.receiveQueue ?? 0) + (report.samples.last?.sendQueue ?? 0))
        #expect(abs(bytes - expected) <= yMaximum / (plot[3] - plot[1]) * 0.1 + 1)
        for point in queued + receive {
            #expect(point.x >= plot[0] - 0.05 && point.x <= plot[2] + 0.05)
            #expect(point.y >= plot[1] - 0.05 && point.y <= plot[3] + 0.05)
        }
        #expect(svg.contains("first EAGAIN after \(NumberFormat.grouped(report.firstWouldBlockBytes ?? -1)) bytes"))
    }

    @Test("at default buffers the plot tells the story: the fill spans the time axis, the Recv-Q has its own panel")
    func plotShowsTheFill() throws {
        let report = try FloodExperiment.runLocal(
            options: FloodOptions(quietPeriod: .milliseconds(150)),
            display: FloodCapturedLog().makeDisplay()
        )
        let document = try SVGDocument(FloodPlot.svg(report))
        let plot = try #require(document.rootAttributes["data-plot"]).split(separator: " ").compactMap { Double($0) }
        // The first EAGAIN (the end of the fill, milliseconds in) sits well inside the axis, not on the origin.
        let marker = try #require(document.elements.first { $0.name == "line" && $0.attributes["stroke"] == "#d62728" })
        let markerX = try #require(Double(marker.attributes["x1"] ?? ""))
        #expect(markerX - plot[0] >= 0.1 * (plot[2] - plot[0]), "EAGAIN at x \(markerX) of \(plot)")
        // The Recv-Q panel's scale is the Recv-Q's: its highest point reaches the upper half of the panel.
        let panel = try #require(document.elements.first { $0.attributes["id"] == "recv-q-panel" })
        let box = try #require(panel.attributes["data-plot"]).split(separator: " ").compactMap { Double($0) }
        let alone = try #require(document.points["recv-q-alone"])
        #expect(alone.count == report.samples.count)
        let highest = try #require(alone.map(\.y).min())
        #expect(highest <= (box[1] + box[3]) / 2, "Recv-Q's top at y \(highest) in \(box)")
        let axis = FloodPlotTimeAxis(maximum: 1, firstWouldBlock: 0.004)
        #expect(axis.fraction(0) == 0 && abs(axis.fraction(1) - 1) < 1e-9)
        #expect(abs(FloodPlotTimeAxis.naturalLog(10) - 2.302_585_093) < 1e-9)
    }

    // MARK: - Pieces

    @Test("byte counts: plain, k/m/g as powers of 1024, KiB spellings, rates")
    func byteCounts() {
        #expect(FloodOptions.parseByteCount("4096") == 4096)
        #expect(FloodOptions.parseByteCount("64k") == 65536)
        #expect(FloodOptions.parseByteCount("64K") == 65536)
        #expect(FloodOptions.parseByteCount("64KiB") == 65536)
        #expect(FloodOptions.parseByteCount("64kb") == 65536)
        #expect(FloodOptions.parseByteCount("1.5m") == 1_572_864)
        #expect(FloodOptions.parseByteCount("2MiB") == 2 << 20)
        #expect(FloodOptions.parseByteCount("1g") == 1 << 30)
        #expect(FloodOptions.parseByteCount("64k/s") == 65536)
        #expect(FloodOptions.parseByteCount(" 10 ") == 10)
        for bad in ["", "k", "-1", "abc", "1.5.5", "12q", "1e3", "0x10"] {
            #expect(FloodOptions.parseByteCount(bad) == nil, "\(bad)")
        }
    }

    @Test("the table lines up like netstat's, plain numbers, the role last")
    func tableLayout() {
        let rows = [
            QueueTableRow(
                proto: "tcp",
                receiveQueue: 408300,
                sendQueue: 0,
                local: "127.0.0.1:65432",
                foreign: "127.0.0.1:53225",
                state: "ESTABLISHED",
                role: "receiver"
            ),
            QueueTableRow(
                proto: "tcp",
                receiveQueue: 0,
                sendQueue: 269868,
                local: "127.0.0.1:53225",
                foreign: "127.0.0.1:65432",
                state: "ESTABLISHED",
                role: "sender"
            ),
        ]
        #expect(
            QueueTable.lines(rows) == [
                "Proto Recv-Q Send-Q Local Address          Foreign Address        State",
                "tcp   408300      0 127.0.0.1:65432        127.0.0.1:53225        ESTABLISHED receiver",
                "tcp        0 269868 127.0.0.1:53225        127.0.0.1:65432        ESTABLISHED sender",
            ]
        )
    }

    @Test("plot scales: power-of-two byte steps, 1-2-5 time steps, short labels")
    func plotScales() {
        #expect(FloodPlot.byteTickStep(for: 12288) == 2048)
        #expect(FloodPlot.byteTickStep(for: 4_291_584) == 1 << 19)
        #expect(FloodPlot.timeTickStep(for: 0.45) == 0.05)
        #expect(FloodPlot.timeTickStep(for: 5) == 0.5)
        #expect(FloodPlot.byteLabel(0) == "0")
        #expect(FloodPlot.byteLabel(512) == "512 B")
        #expect(FloodPlot.byteLabel(1 << 19) == "512 KiB")
        #expect(FloodPlot.byteLabel(3 << 19) == "1.5 MiB")
        #expect(FloodPlot.escape("a<b & \"c\">") == "a&lt;b &amp; &quot;c&quot;&gt;")
        // Tick labels: as many decimals as the step has, for every step timeTickStep gives.
        let decimals = [0.05, 0.5, 2.0, 10.0, 0.0001, 0.0002, 0.2].map(FloodPlot.decimalsShown(by:))
        #expect(decimals == [2, 1, 0, 0, 4, 4, 1])
        #expect(FloodPlot.decimalsShown(by: FloodPlot.timeTickStep(for: 0.0009)) == 4)
    }
}
