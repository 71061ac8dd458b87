// FloodReport+Text.swift -- the end of a flood in words: the netstat-like table, where every accepted byte
// sits, the buffer sizes and limits, and a sentence or two that a learner can take away.

extension FloodReport {
    /// Bytes accepted that are in neither queue: read by the receiver (positive), or counted in both
    /// because the receiver has them and has not acknowledged them yet (negative). nil when the receiver's
    /// queue is not visible.
    public var bytesElsewhere: Int? { bytesQueued.map { bytesAccepted - $0 } }

    /// The facts, one per line: where the bytes are, when send() blocked, the buffers and the limits.
    public var summaryLines: [String] {
        var lines: [String] = []
        let accepted = NumberFormat.grouped(bytesAccepted)
        let receiver = isLocalDemo ? "the receiver's" : "the server's"
        if case .failed = ending {
            lines.append(
                "Bytes accepted by the kernel: \(accepted), until the connection was reset; whatever was still "
                    + "queued is gone."
            )
        } else if let receiveQueue, let elsewhere = bytesElsewhere {
            var line = "Bytes accepted by the kernel: \(accepted) = \(NumberFormat.grouped(receiveQueue)) in "
            line += "\(receiver) Recv-Q + \(NumberFormat.grouped(sendQueue)) in the sender's Send-Q"
            if elsewhere > 0 {
                line += " + \(NumberFormat.grouped(elsewhere)) already read by the receiver"
            } else if elsewhere < 0 {
                line += " (\(NumberFormat.grouped(-elsewhere)) received but not yet acknowledged, so both count them)"
            }
            lines.append(line + ".")
        } else {
            lines.append(
                "Bytes accepted by the kernel: \(accepted); \(NumberFormat.grouped(sendQueue)) still in this side's "
                    + "Send-Q, the rest reached the server (its Recv-Q is on its machine: run 'ss -tn' there)."
            )
        }
        if sendQueue > 0 {
            var line = "Of the Send-Q, \(NumberFormat.grouped(unsentBytes)) bytes were never sent"
            if let peerWindow {
                line += ": the receiver advertises a window of \(NumberFormat.grouped(peerWindow)) bytes"
            }
            lines.append(line + ".")
        }
        if let first = firstWouldBlockBytes {
            let at = NumberFormat.duration(nanoseconds: firstWouldBlockNanoseconds ?? 0)
            let later = bytesAccepted - first
            if later > 0 {
                lines.append(
                    "send() first said EAGAIN after \(NumberFormat.grouped(first)) bytes (at \(at)); "
                        + "\(NumberFormat.grouped(later)) more were accepted later, as acknowledgements freed room "
                        + "in the send buffer."
                )
            } else {
                lines.append(
                    "send() said EAGAIN after \(NumberFormat.grouped(first)) bytes (at \(at)) and took nothing more."
                )
            }
        } else {
            lines.append("send() never said EAGAIN.")
        }
        lines.append(buffersLine)
        lines.append(
            "System: tcp_wmem \(KernelBufferLimits.triple(limits.tcpSendMemory)) and tcp_rmem "
                + "\(KernelBufferLimits.triple(limits.tcpReceiveMemory)) (min default max, /proc/sys/net/ipv4)"
                + limitsTail + "."
        )
        if let drainRate, let measuredDrainRate {
            var line = "The receiver read \(NumberFormat.grouped(drainedBytes)) bytes: \(rate(measuredDrainRate)) "
            line += "(asked \(NumberFormat.bytes(drainRate))/s)"
            if let sendRateAfterFull {
                let settled = NumberFormat.fixed(seconds(ofNanoseconds: settledNanoseconds), decimals: 2)
                line +=
                    "; once the first fill had settled (from \(settled) s on), send() took \(rate(sendRateAfterFull))"
            }
            lines.append(line + ".")
        }
        if let plotPath { lines.append("Plot: \(plotPath) (open it in a browser).") }
        return lines
    }

    /// One or two sentences that say what the numbers mean.
    public var explanation: String {
        if case .failed = ending {
            return "The receiver went away while the sender still had bytes queued; the kernel threw them away. "
                + "Bytes in a Send-Q are only safe while the connection lives."
        }
        guard firstWouldBlockBytes != nil else {
            if drainRate != nil {
                return "send() never said EAGAIN: the receiver read faster than the buffers could fill. "
                    + "Lower --drain (or drop it) to see backpressure."
            }
            let overall = seconds > 0 ? Double(bytesAccepted) / seconds : 0
            return "send() never said EAGAIN in \(NumberFormat.fixed(seconds, decimals: 1)) s: the server read "
                + "everything as fast as it came (\(rate(overall))). Flood 'sockettool flood serve', which never "
                + "reads, to see the buffers fill."
        }
        if senderReceiveQueue >= 16 * 1024 {
            // An echo server: what it sent back waits in our Recv-Q, since flood never reads (a banner is less).
            return "The server sends data back (\(NumberFormat.grouped(senderReceiveQueue)) bytes wait unread in "
                + "our Recv-Q): an echo server. flood never reads, so the echoes filled our receive buffer, then the "
                + "server's send buffer; a server that reads no more while its replies cannot go out (as 'serve "
                + "multi' does) then stopped reading us, and our Send-Q filled until send() said EAGAIN. Flood "
                + "'sockettool flood serve', which never reads, to see a receiver's Recv-Q fill."
        }
        if drainRate == nil, let elsewhere = bytesElsewhere, elsewhere > 0 {
            let pace = sendRateAfterFull.map { " (once the buffers were full, send() took \(rate($0)))" } ?? ""
            return "The server reads, but slower than we send: its Recv-Q and our Send-Q filled, and send() can "
                + "only go as fast as the server reads\(pace). That is TCP flow control (backpressure), and no "
                + "byte is lost."
        }
        if drainRate != nil {
            var pace = ""
            if let sendRateAfterFull, let measuredDrainRate {
                pace = " (\(rate(sendRateAfterFull)) sent, \(rate(measuredDrainRate)) read)"
            }
            return "The receiver read slowly, so once the buffers were full send() could only go about as fast "
                + "as it read\(pace). That is TCP flow control (backpressure): the receiver's window paces the "
                + "sender, in steps of a window update, and no byte is lost."
        }
        if receiveQueue == nil {
            return "The server does not read (or reads slower than we send): its receive buffer filled, its window "
                + "closed, and our Send-Q filled until send() said EAGAIN. Run 'ss -tn' on the server to see its "
                + "Recv-Q."
        }
        return "The receiver never called recv(), so its Recv-Q filled up and it advertised a zero window; the "
            + "sender's kernel then kept the rest in its Send-Q until its send buffer was full, and send() said EAGAIN. "
            + "No byte is lost: they wait in kernel memory until someone reads them, which is what netstat's "
            + "Recv-Q and Send-Q columns show."
    }

    /// Prints the table, the summary and the explanation (text), or "socket" events and the closing
    /// "summary" event (JSON; always the last line).
    public func emit(to display: FloodDisplay) {
        display.clearLive()
        let log = display.log
        switch log.format {
        case .text:
            guard log.wants(.quiet) else { return }
            var lines = rows.isEmpty ? [""] + summaryLines : [""] + QueueTable.lines(rows) + [""] + summaryLines
            if log.wants(.normal) { lines += ["", explanation] }
            for line in lines { log.event("summary", level: .quiet, text: line) }
        case .json:
            for row in rows { log.event("socket", level: .quiet, text: "", fields: row.fields) }
            log.event("summary", level: .quiet, text: "", fields: fields)
        }
        log.flush()
    }

    // MARK: - Pieces

    /// When the first fill counts as settled: the quiet period after the first EAGAIN.
    private var settledNanoseconds: UInt64 {
        (firstWouldBlockNanoseconds ?? 0) &+ quietPeriod.nanoseconds
    }

    private func seconds(ofNanoseconds value: UInt64) -> Double { Double(value) / 1e9 }

    private var buffersLine: String {
        var line = "Buffers: " + Self.describe("SO_SNDBUF", sendBuffer, maximum: limits.sendMaximum, cap: "wmem_max")
        if let receiveBuffer {
            let again = sendBuffer.requested != nil
            line += "; "
            line += Self.describe("SO_RCVBUF", receiveBuffer, maximum: limits.receiveMaximum, cap: "rmem_max", again)
        }
        return line + "." + queuesAgainstBuffers
    }

    /// Why the queues are not simply SO_SNDBUF and SO_RCVBUF: the buffers limit kernel memory, not payload.
    private var queuesAgainstBuffers: String {
        var text = ""
        if sendQueue > sendBuffer.atEnd {
            text +=
                " The Send-Q is larger than SO_SNDBUF: the kernel checks for room before it starts a packet "
                + "buffer, not byte by byte, and one buffer takes up to 64 KiB here (TSO/GSO), so a small SO_SNDBUF "
                + "is overshot by up to one of them."
        } else if sendQueue < sendBuffer.atEnd && sendBuffer.requested != nil {
            text += " The Send-Q is smaller than SO_SNDBUF: the limit counts the kernel's per-packet overhead too."
        }
        if let receiveQueue, let receiveBuffer, receiveQueue < receiveBuffer.atEnd, receiveBuffer.requested != nil {
            text +=
                " The Recv-Q is smaller than SO_RCVBUF: the kernel keeps part of the receive buffer for its "
                + "per-packet overhead and offers a window only for the rest."
        }
        return text
    }

    /// "SO_SNDBUF 8,192 (asked 4,096: the kernel doubles the value ...)".
    private static func describe(
        _ name: String,
        _ setting: BufferSetting,
        maximum: Int?,
        cap: String,
        _ again: Bool = false
    ) -> String {
        var text = "\(name) \(NumberFormat.grouped(setting.atEnd))"
        guard let requested = setting.requested else {
            // A sender's buffer is sized by the kernel when the handshake completes (from tcp_wmem and the
            // MSS) and may grow as the window does; whether it grew after connect depends on the kernel and
            // the timing, so the line says the same either way.
            if name == "SO_SNDBUF" {
                return text + " (not set: Linux autotunes it, \(NumberFormat.grouped(setting.atStart)) at connect)"
            }
            return text + " (not set: the kernel's default)"
        }
        let asked = NumberFormat.grouped(requested)
        if setting.atStart == 2 * requested {
            text +=
                again
                ? " (asked \(asked), doubled too)"
                : " (asked \(asked): the kernel doubles the value for its bookkeeping)"
        } else if let maximum, requested > maximum {
            text += " (asked \(asked): capped at \(cap) \(NumberFormat.grouped(maximum)), then doubled)"
        } else if setting.atStart > 2 * requested {
            text += " (asked \(asked): raised to the kernel's minimum)"
        } else {
            text += " (asked \(asked): the kernel doubles it and applies its limits)"
        }
        return text
    }

    private var limitsTail: String {
        guard let send = limits.sendMaximum, let receive = limits.receiveMaximum else { return "" }
        return "; wmem_max \(send) and rmem_max \(receive) cap what --sndbuf and --rcvbuf can ask"
    }

    /// "64.0 KiB/s".
    private func rate(_ bytesPerSecond: Double) -> String {
        NumberFormat.bytes(Int(bytesPerSecond.rounded())) + "/s"
    }
}
