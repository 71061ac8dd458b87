// FloodPlot.swift -- `flood --plot FILE.svg`: the queues over time as a stacked area chart, written as plain
// SVG text (no library), so a learner can open it in any browser.
//
// The receiver's Recv-Q is the lower band, the sender's Send-Q sits on top of it, so the top edge is every
// byte waiting in the kernel. A second panel shows the Recv-Q alone on its own scale: at default buffers it
// is 128 KiB under 4 MiB, a sliver in the first. Time runs on a log scale past a knee (FloodPlotTimeAxis),
// so the fill, over in milliseconds, is as visible as the wait after it. The root element carries the
// scales (data-*) so a program can read it back.

/// Draws a report's samples.
public enum FloodPlot {
    /// Canvas size and the plot area inside it, in SVG user units.
    static let width = 880.0
    static let height = 700.0
    static let left = 100.0
    static let right = 856.0
    static let top = 104.0
    static let bottom = 438.0
    /// The Recv-Q panel, under the time labels of the first.
    static let receiveTop = 486.0
    static let receiveBottom = 586.0

    /// The SVG document.
    public static func svg(_ report: FloodReport) -> String {
        let samples = report.samples
        let timeMaximum = max(samples.last?.seconds ?? 0, 0.001)
        let axis = FloodPlotTimeAxis(
            maximum: timeMaximum,
            firstWouldBlock: report.firstWouldBlockNanoseconds.map { Double($0) / 1e9 }
        )
        let highest = samples.map { ($0.receiveQueue ?? 0) + $0.sendQueue }.max() ?? 0
        let byteStep = byteTickStep(for: max(highest, 1))
        let byteMaximum = Double(max(1, Int((Double(highest) / Double(byteStep)).rounded(.up))) * byteStep)
        let x = { (seconds: Double) in left + axis.fraction(seconds) * (right - left) }
        let y = { (bytes: Int) in bottom - Double(bytes) / byteMaximum * (bottom - top) }
        let showsReceiver = samples.contains { $0.receiveQueue != nil }

        var svg = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
        svg += "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"\(number(width))\" height=\"\(number(height))\""
        svg += " viewBox=\"0 0 \(number(width)) \(number(height))\" font-family=\"sans-serif\" font-size=\"13\""
        svg += " data-samples=\"\(samples.count)\" data-t-max=\"\(number(timeMaximum, 6))\""
        svg += " data-y-max=\"\(Int(byteMaximum))\" data-t-knee=\"\(number(axis.knee, 6))\""
        svg += " data-plot=\"\(number(left)) \(number(top)) \(number(right)) \(number(bottom))\">\n"
        svg += "<title>sockettool flood: bytes waiting in the kernel's queues</title>\n"
        svg += "<rect width=\"100%\" height=\"100%\" fill=\"#ffffff\"/>\n"
        svg += heading(report)

        // Grid and axes.
        svg += "<g id=\"grid\" stroke=\"#dddddd\" stroke-width=\"1\">\n"
        var bytes = 0
        while Double(bytes) <= byteMaximum {
            svg += "  <line x1=\"\(number(left))\" y1=\"\(number(y(bytes)))\" x2=\"\(number(right))\""
            svg += " y2=\"\(number(y(bytes)))\"/>\n"
            bytes += byteStep
        }
        for tick in axis.ticks {
            svg += "  <line x1=\"\(number(x(tick)))\" y1=\"\(number(top))\" x2=\"\(number(x(tick)))\""
            svg += " y2=\"\(number(bottom))\"/>\n"
        }
        svg += "</g>\n<g id=\"axis-labels\" fill=\"#333333\">\n"
        bytes = 0
        while Double(bytes) <= byteMaximum {
            svg += "  <text x=\"\(number(left - 8))\" y=\"\(number(y(bytes) + 4))\" text-anchor=\"end\">"
            svg += escape(byteLabel(bytes)) + "</text>\n"
            bytes += byteStep
        }
        for tick in axis.ticks {
            svg += "  <text x=\"\(number(x(tick)))\" y=\"\(number(bottom + 18))\" text-anchor=\"middle\">"
            svg += escape(FloodPlotTimeAxis.label(tick)) + "</text>\n"
        }
        svg += "  <text x=\"\(number((left + right) / 2))\" y=\"\(number(bottom + 38))\" text-anchor=\"middle\">"
        svg += "time since the first send() (log scale past \(escape(FloodPlotTimeAxis.label(axis.knee))))</text>\n"
        svg += "  <text x=\"18\" y=\"\(number((top + bottom) / 2))\" text-anchor=\"middle\""
        svg += " transform=\"rotate(-90 18 \(number((top + bottom) / 2)))\">bytes in the queue</text>\n"
        svg += "</g>\n"

        // The two bands: Recv-Q from 0, Send-Q stacked on it.
        let lower = samples.map { (x($0.seconds), y($0.receiveQueue ?? 0)) }
        let upper = samples.map { (x($0.seconds), y(($0.receiveQueue ?? 0) + $0.sendQueue)) }
        let baseline = [(x(samples.last?.seconds ?? 0), bottom), (x(samples.first?.seconds ?? 0), bottom)]
        if showsReceiver {
            svg += "<polygon id=\"recv-q-area\" fill=\"#4c78a8\" fill-opacity=\"0.55\" points=\""
            svg += points(lower + baseline) + "\"/>\n"
        }
        svg += "<polygon id=\"send-q-area\" fill=\"#f58518\" fill-opacity=\"0.55\" points=\""
        svg += points(upper + lower.reversed()) + "\"/>\n"
        if showsReceiver {
            svg += "<polyline id=\"recv-q\" fill=\"none\" stroke=\"#2d5a88\" stroke-width=\"1.5\" points=\""
            svg += points(lower) + "\"/>\n"
        }
        svg += "<polyline id=\"queued\" fill=\"none\" stroke=\"#b35806\" stroke-width=\"1.5\" points=\""
        svg += points(upper) + "\"/>\n"
        svg += "<rect x=\"\(number(left))\" y=\"\(number(top))\" width=\"\(number(right - left))\""
        svg += " height=\"\(number(bottom - top))\" fill=\"none\" stroke=\"#888888\"/>\n"
        svg += markers(report, x: x)
        if showsReceiver { svg += receivePanel(samples, ticks: axis.ticks, x: x) }
        svg += legend(showsReceiver: showsReceiver)
        svg += "</svg>\n"
        return svg
    }

    // MARK: - Parts

    /// The title and three lines of facts: who talks to whom, the buffers, and where the bytes are.
    private static func heading(_ report: FloodReport) -> String {
        var who = "sender \(report.local) → receiver \(report.peer)"
        who += report.drainRate.map { " (reads \(NumberFormat.bytes($0))/s)" } ?? " (never reads)"
        var buffers = "chunk \(NumberFormat.grouped(report.chunkSize))"
        buffers += " · SO_SNDBUF \(NumberFormat.grouped(report.sendBuffer.atEnd))"
        if let receiveBuffer = report.receiveBuffer {
            buffers += " · SO_RCVBUF \(NumberFormat.grouped(receiveBuffer.atEnd))"
        }
        var result = "accepted by send(): \(NumberFormat.grouped(report.bytesAccepted)) bytes"
        if let receiveQueue = report.receiveQueue { result += " · Recv-Q \(NumberFormat.grouped(receiveQueue))" }
        result += " · Send-Q \(NumberFormat.grouped(report.sendQueue))"
        if report.drainedBytes > 0 { result += " · read \(NumberFormat.grouped(report.drainedBytes))" }
        var text = "<text x=\"\(number(left))\" y=\"28\" font-size=\"18\" font-weight=\"bold\">"
        text += "sockettool flood: where the unread bytes wait</text>\n"
        for (index, line) in [who, buffers, result].enumerated() {
            text +=
                "<text x=\"\(number(left))\" y=\"\(50 + 18 * index)\" fill=\"#444444\">" + escape(line) + "</text>\n"
        }
        return text
    }

    /// The Recv-Q alone, on a scale of its own (its polyline is `recv-q-alone`, its maximum `data-y-max`).
    private static func receivePanel(_ samples: [FloodSample], ticks: [Double], x: (Double) -> Double) -> String {
        let highest = max(samples.compactMap(\.receiveQueue).max() ?? 0, 1)
        let step = byteTickStep(for: highest)
        let maximum = Double(max(1, Int((Double(highest) / Double(step)).rounded(.up))) * step)
        let y = { (bytes: Int) in receiveBottom - Double(bytes) / maximum * (receiveBottom - receiveTop) }
        var text = "<g id=\"recv-q-panel\" data-y-max=\"\(Int(maximum))\""
        text += " data-plot=\"\(number(left)) \(number(receiveTop)) \(number(right)) \(number(receiveBottom))\">\n"
        for tick in ticks {
            text += "  <line x1=\"\(number(x(tick)))\" y1=\"\(number(receiveTop))\" x2=\"\(number(x(tick)))\""
            text += " y2=\"\(number(receiveBottom))\" stroke=\"#dddddd\"/>\n"
        }
        for bytes in [0, Int(maximum)] {
            text +=
                "  <text x=\"\(number(left - 8))\" y=\"\(number(y(bytes) + 4))\" text-anchor=\"end\" fill=\"#333333\">"
            text += escape(byteLabel(bytes)) + "</text>\n"
        }
        let line = samples.map { (x($0.seconds), y($0.receiveQueue ?? 0)) }
        text += "  <polyline id=\"recv-q-alone\" fill=\"none\" stroke=\"#2d5a88\" stroke-width=\"1.5\" points=\""
        text += points(line) + "\"/>\n"
        text += "  <rect x=\"\(number(left))\" y=\"\(number(receiveTop))\" width=\"\(number(right - left))\""
        text += " height=\"\(number(receiveBottom - receiveTop))\" fill=\"none\" stroke=\"#888888\"/>\n"
        text += "  <text x=\"\(number(left + 6))\" y=\"\(number(receiveTop + 16))\" fill=\"#2d5a88\">"
        text += "Recv-Q alone, on its own scale</text>\n</g>\n"
        return text
    }

    /// A dashed line where send() first said EAGAIN.
    private static func markers(_ report: FloodReport, x: (Double) -> Double) -> String {
        guard let at = report.firstWouldBlockNanoseconds, let bytes = report.firstWouldBlockBytes else { return "" }
        let position = x(Double(at) / 1e9)
        var text = "<g id=\"first-eagain\">\n"
        text += "  <line x1=\"\(number(position))\" y1=\"\(number(top))\" x2=\"\(number(position))\""
        text += " y2=\"\(number(bottom))\" stroke=\"#d62728\" stroke-width=\"1.5\" stroke-dasharray=\"5 4\"/>\n"
        let anchor = position > (left + right) / 2 ? "end" : "start"
        let offset = anchor == "end" ? -6.0 : 6.0
        text += "  <text x=\"\(number(position + offset))\" y=\"\(number(top + 16))\" fill=\"#d62728\""
        text += " text-anchor=\"\(anchor)\">first EAGAIN after \(NumberFormat.grouped(bytes)) bytes</text>\n"
        text += "</g>\n"
        return text
    }

    private static func legend(showsReceiver: Bool) -> String {
        var entries: [(String, String)] = []
        if showsReceiver {
            entries.append(("#4c78a8", "Recv-Q: arrived at the receiver, not read by it"))
        }
        entries.append(("#f58518", "Send-Q: accepted by send(), not yet acknowledged by the receiver"))
        var text = "<g id=\"legend\">\n"
        for (index, entry) in entries.enumerated() {
            let rowY = receiveBottom + 36 + Double(index) * 20
            text += "  <rect x=\"\(number(left))\" y=\"\(number(rowY - 11))\" width=\"14\" height=\"14\""
            text += " fill=\"\(entry.0)\" fill-opacity=\"0.7\"/>\n"
            text += "  <text x=\"\(number(left + 22))\" y=\"\(number(rowY))\">" + escape(entry.1) + "</text>\n"
        }
        if !showsReceiver {
            text += "  <text x=\"\(number(left))\" y=\"\(number(receiveBottom + 76))\" fill=\"#666666\">"
            text += "The server's Recv-Q is not visible from this machine.</text>\n"
        }
        text += "</g>\n"
        return text
    }

    // MARK: - Scales and text

    /// A power of two giving four to eight grid lines.
    public static func byteTickStep(for maximum: Int) -> Int {
        var step = 1
        while maximum / step > 8 { step *= 2 }
        return step
    }

    /// 1, 2 or 5 times a power of ten giving four to ten grid lines.
    public static func timeTickStep(for maximum: Double) -> Double {
        var magnitude = 1e-4
        while true {
            for factor in [1.0, 2.0, 5.0] where maximum / (factor * magnitude) <= 10 { return factor * magnitude }
            magnitude *= 10
        }
    }

    /// Digits after the point a tick step needs (0.5 and 0.2: one; 0.05: two; 1, 2, 5 and up: none): the
    /// rounded-up -log10 of the step, without the C library.
    public static func decimalsShown(by step: Double) -> Int {
        var scaled = step
        var decimals = 0
        while scaled < 1 - 1e-9 && decimals < 12 {
            scaled *= 10
            decimals += 1
        }
        return decimals
    }

    /// "0", "512 KiB", "1.5 MiB", "64 B".
    public static func byteLabel(_ bytes: Int) -> String {
        let units: [(Int, String)] = [(1 << 30, "GiB"), (1 << 20, "MiB"), (1 << 10, "KiB")]
        for (size, name) in units where bytes >= size {
            let value = Double(bytes) / Double(size)
            let text = value == value.rounded() ? String(Int(value)) : NumberFormat.fixed(value, decimals: 2)
            return trimmedZeros(text) + " " + name
        }
        return bytes == 0 ? "0" : "\(bytes) B"
    }

    private static func trimmedZeros(_ text: String) -> String {
        guard text.contains(".") else { return text }
        var result = text
        while result.last == "0" { result.removeLast() }
        if result.last == "." { result.removeLast() }
        return result
    }

    private static func points(_ list: [(Double, Double)]) -> String {
        list.map { number($0.0) + "," + number($0.1) }.joined(separator: " ")
    }

    /// Coordinates with one decimal (enough for a screen), or more when asked.
    private static func number(_ value: Double, _ decimals: Int = 1) -> String {
        trimmedZeros(NumberFormat.fixed(value, decimals: decimals))
    }

    /// Text safe inside an element or an attribute.
    public static func escape(_ text: String) -> String {
        var result = ""
        for character in text {
            switch character {
            case "&": result += "&amp;"
            case "<": result += "&lt;"
            case ">": result += "&gt;"
            case "\"": result += "&quot;"
            default: result.append(character)
            }
        }
        return result
    }
}
