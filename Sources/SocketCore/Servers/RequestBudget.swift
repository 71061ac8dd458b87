// RequestBudget.swift -- a cap on the request bytes `serve app` holds across all its connections.
//
// --max-content bounds one request and --max-conns the number of connections, but the two multiply: ten
// thousand clients that each stall one byte short of a 1 MiB request would make the server hold 10 GB.
// The budget bounds the sum; a connection whose bytes would pass it gets an error and is closed.

/// Request bytes held now, and the most allowed, for one loop's connections (not thread-safe).
final class RequestBudget {
    /// The most request bytes held at once.
    let limit: Int
    /// Request bytes the open connections hold now.
    private(set) var held = 0

    init(limit: Int) {
        self.limit = limit
    }

    /// The default: 256 MiB, or room for 16 requests of the largest size allowed, whichever is more.
    static func defaultLimit(maxContentLength: Int) -> Int {
        max(256 << 20, 16 * (maxContentLength + FrameEncoder.maximumHeaderLength + 2))
    }

    /// Takes `count` more bytes for a connection; false (and nothing taken) if that would pass the limit.
    func take(_ count: Int) -> Bool {
        guard held + count <= limit else { return false }
        held += count
        return true
    }

    /// Gives back what a connection held.
    func release(_ count: Int) {
        held -= count
    }
}

@available(*, unavailable)
extension RequestBudget: Sendable {}
