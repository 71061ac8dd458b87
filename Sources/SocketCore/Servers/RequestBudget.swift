// RequestBudget.swift -- a cap on the request bytes `serve app` holds across all its connections.
//
// --max-content bounds one request and --max-conns the number of connections, but the two multiply: ten
// thousand clients that each stall one byte short of a 1 MiB request would make the server hold 10 GB.
// The budget bounds the sum; a connection whose bytes would pass it gets an error and is closed.

/// Request bytes held now, and the most allowed, for one loop's connections (not thread-safe). With
/// `--workers` the bytes are taken from the loops' shared count, so the limit holds over all of them.
final class RequestBudget {
    /// The most request bytes held at once.
    let limit: Int
    /// Request bytes this loop's open connections hold now.
    private(set) var held = 0
    private let shared: SharedRequestBytes?

    init(limit: Int) {
        self.limit = limit
        self.shared = nil
    }

    /// A loop's share of a budget every loop takes from.
    init(shared: SharedRequestBytes) {
        self.limit = shared.limit
        self.shared = shared
    }

    /// The default: 256 MiB, or room for 16 requests of the largest size allowed, whichever is more.
    static func defaultLimit(maxContentLength: Int) -> Int {
        max(256 << 20, 16 * (maxContentLength + FrameEncoder.maximumHeaderLength + 2))
    }

    /// Takes `count` more bytes for a connection; false (and nothing taken) if that would pass the limit.
    func take(_ count: Int) -> Bool {
        if let shared {
            guard shared.take(count) else { return false }
        } else {
            guard held + count <= limit else { return false }
        }
        held += count
        return true
    }

    /// Gives back what a connection held.
    func release(_ count: Int) {
        held -= count
        shared?.release(count)
    }
}

@available(*, unavailable)
extension RequestBudget: Sendable {}
