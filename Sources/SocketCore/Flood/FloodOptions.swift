// FloodOptions.swift -- the settings of the buffer-fill experiment (the guide's app-client-test.py against
// app-server-test.py), and the byte counts people type for them ("64k", "4096", "1.5M").

/// How a flood runs: what the sender writes, the buffers asked for, and when the run ends.
public struct FloodOptions: Sendable {
    /// Bytes per send() call. A non-blocking send() may take fewer.
    public var chunkSize: Int
    /// SO_SNDBUF to ask for before connecting; nil leaves the kernel's default (and its autotuning).
    public var sendBufferSize: Int?
    /// SO_RCVBUF to ask for on the receiver before listening; nil leaves the default.
    public var receiveBufferSize: Int?
    /// No send() progress for this long means the buffers are full: the run ends ("saturated") when
    /// `endsWhenFull`.
    public var quietPeriod: Duration
    /// The longest run; nil picks `defaultDuration(draining:)`.
    public var duration: Duration?
    /// The receiver reads this many bytes per second; nil means it never reads.
    public var drainRate: Int?
    /// How often the queues are read for the plot, and send() is tried again after EAGAIN.
    public var sampleInterval: Duration
    /// How often progress is shown (10 Hz at most on a terminal).
    public var displayInterval: Duration
    /// Longest wait for the TCP handshake.
    public var connectTimeout: Duration

    public init(
        chunkSize: Int = 64 * 1024,
        sendBufferSize: Int? = nil,
        receiveBufferSize: Int? = nil,
        quietPeriod: Duration = .milliseconds(400),
        duration: Duration? = nil,
        drainRate: Int? = nil,
        sampleInterval: Duration = .milliseconds(10),
        displayInterval: Duration = .milliseconds(100),
        connectTimeout: Duration = .seconds(5)
    ) {
        self.chunkSize = chunkSize
        self.sendBufferSize = sendBufferSize
        self.receiveBufferSize = receiveBufferSize
        self.quietPeriod = quietPeriod
        self.duration = duration
        self.drainRate = drainRate
        self.sampleInterval = sampleInterval
        self.displayInterval = displayInterval
        self.connectTimeout = connectTimeout
    }

    /// Without a drain the buffers fill in well under a second and the run ends by itself; the limit only
    /// matters against a server that reads everything. With a drain nothing ever fills, so the run is shorter.
    public static func defaultDuration(draining: Bool) -> Duration { draining ? .seconds(5) : .seconds(10) }

    /// The run's time limit after applying the default.
    public var effectiveDuration: Duration { duration ?? Self.defaultDuration(draining: drainRate != nil) }

    /// Whether the run ends once the buffers are full (no progress for the quiet period). Not with a drain,
    /// which keeps opening the window, and not when a duration was asked for: then the user wants to watch
    /// for that long (a slow reader elsewhere opens the window in steps further apart than the quiet period).
    public var endsWhenFull: Bool { drainRate == nil && duration == nil }

    /// Parses a byte count: a number with an optional binary unit, as the kernel and `ss` count them.
    ///
    /// "4096", "64k", "64K", "64KiB", "1.5m", "2MiB", "1g"; a trailing "/s" is allowed for rates ("64k/s").
    /// k, m and g are powers of 1024.
    ///
    /// - Returns: The count, or nil when the text is not one (or is negative, or absurdly large).
    public static func parseByteCount(_ text: String) -> Int? {
        var body = Substring(text.trimmingSpaces().lowercased())
        if body.hasSuffix("/s") { body = body.dropLast(2) }
        if body.hasSuffix("ib") {
            body = body.dropLast(2)
        } else if body.hasSuffix("b") {
            body = body.dropLast()
        }
        var multiplier = 1.0
        switch body.last {
        case "k": multiplier = 1024
        case "m": multiplier = 1024 * 1024
        case "g": multiplier = 1024 * 1024 * 1024
        default: break
        }
        if multiplier > 1 { body = body.dropLast() }
        guard !body.isEmpty, body.allSatisfy({ $0.isASCII && ($0.isNumber || $0 == ".") }),
            let number = Double(body), number.isFinite, number >= 0
        else { return nil }
        let value = (number * multiplier).rounded()
        guard value <= 1e15 else { return nil }
        return Int(value)
    }
}

extension String {
    /// Without leading and trailing spaces and tabs.
    fileprivate func trimmingSpaces() -> String {
        let isSpace: (Character) -> Bool = { $0 == " " || $0 == "\t" }
        guard let first = firstIndex(where: { !isSpace($0) }), let last = lastIndex(where: { !isSpace($0) }) else {
            return ""
        }
        return String(self[first...last])
    }
}
