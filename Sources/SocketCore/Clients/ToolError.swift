// ToolError.swift -- failures of sockettool's own making (not a system call's), as the clients throw them.

/// Failures of sockettool's own making (not a system call's).
public enum ToolError: Error, Sendable, Equatable, CustomStringConvertible {
    /// A deadline passed: what was awaited, from whom, and for how long.
    case timedOut(what: String, peer: String, seconds: Double)
    /// The echo or response did not match what was sent or expected.
    case mismatch(String)
    /// The peer's bytes broke the protocol.
    case protocolViolation(peer: String, reason: String)
    /// The peer closed before the exchange was complete.
    case closedEarly(peer: String, reason: String)
    /// Several connections (or, in `search`'s load mode, requests: `unit`) failed; the first is described.
    case connectionsFailed(failed: Int, total: Int, first: String, unit: String = "connections")

    public var description: String {
        switch self {
        case .timedOut(let what, let peer, let seconds):
            "\(what) from \(peer) timed out after \(NumberFormat.fixed(seconds, decimals: seconds < 1 ? 3 : 1)) s"
        case .mismatch(let detail): detail
        case .protocolViolation(let peer, let reason): "invalid response from \(peer): \(reason)"
        case .closedEarly(let peer, let reason): "\(peer): \(reason)"
        case .connectionsFailed(let failed, let total, let first, let unit):
            "\(failed) of \(total) \(unit) failed; first: \(first)"
        }
    }
}
