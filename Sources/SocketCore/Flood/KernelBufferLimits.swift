// KernelBufferLimits.swift -- the system-wide limits on TCP buffers (/proc/sys/net), which decide how much a
// sender can push before send() says EAGAIN.

/// The TCP buffer sysctls, each nil where it could not be read.
public struct KernelBufferLimits: Sendable, Equatable {
    /// net.ipv4.tcp_rmem: min, default and max receive buffer, bytes. The max bounds autotuning.
    public var tcpReceiveMemory: [Int]?
    /// net.ipv4.tcp_wmem: min, default and max send buffer, bytes.
    public var tcpSendMemory: [Int]?
    /// net.core.rmem_max: the largest SO_RCVBUF a process may ask for (before the kernel doubles it).
    public var receiveMaximum: Int?
    /// net.core.wmem_max: the largest SO_SNDBUF a process may ask for.
    public var sendMaximum: Int?

    public init(
        tcpReceiveMemory: [Int]? = nil,
        tcpSendMemory: [Int]? = nil,
        receiveMaximum: Int? = nil,
        sendMaximum: Int? = nil
    ) {
        self.tcpReceiveMemory = tcpReceiveMemory
        self.tcpSendMemory = tcpSendMemory
        self.receiveMaximum = receiveMaximum
        self.sendMaximum = sendMaximum
    }

    /// Reads the four files; a missing one stays nil.
    public static func current() -> KernelBufferLimits {
        KernelBufferLimits(
            tcpReceiveMemory: ProcFiles.integers("/proc/sys/net/ipv4/tcp_rmem"),
            tcpSendMemory: ProcFiles.integers("/proc/sys/net/ipv4/tcp_wmem"),
            receiveMaximum: ProcFiles.integers("/proc/sys/net/core/rmem_max")?.first,
            sendMaximum: ProcFiles.integers("/proc/sys/net/core/wmem_max")?.first
        )
    }

    /// "4096 16384 4194304", as `sysctl` prints the triple.
    static func triple(_ values: [Int]?) -> String {
        values.map { $0.map(String.init).joined(separator: " ") } ?? "unknown"
    }
}
