// LoadProgress.swift -- counters the load workers (one thread each) bump and the main thread reads for
// its once-a-second progress line.
import Synchronization

/// Shared, lock-free counters of a load run.
public final class LoadProgress: Sendable {
    /// Requests or chunks completed.
    public let completed = Atomic<Int>(0)
    /// Failures.
    public let failed = Atomic<Int>(0)
    /// Bytes received.
    public let bytesReceived = Atomic<Int>(0)
    /// Bytes sent (send-only runs report these).
    public let bytesSent = Atomic<Int>(0)
    /// TCP retransmissions of every stream so far, and the congestion windows of the open streams
    /// together (bytes), from each stream's TCP_INFO, sampled by the workers about once a second (a stream the
    /// run's end closed counts with its last sample).
    public let retransmits = Atomic<Int>(0)
    public let congestionWindowBytes = Atomic<Int>(0)
    /// Requests claimed so far, for runs limited by a count.
    public let claimed = Atomic<Int>(0)
    /// Set when the run should wind down (a count reached, or a worker that could not start).
    public let stopping = Atomic<Bool>(false)

    public init() {}

    /// Takes the right to start one more request; false once `limit` requests were claimed.
    public func claim(limit: Int?) -> Bool {
        guard let limit else { return true }
        return claimed.wrappingAdd(1, ordering: .relaxed).oldValue < limit
    }

    /// A snapshot: (completed, failed, bytes received).
    public func snapshot() -> (completed: Int, failed: Int, bytes: Int) {
        (completed.load(ordering: .relaxed), failed.load(ordering: .relaxed), bytesReceived.load(ordering: .relaxed))
    }
}
