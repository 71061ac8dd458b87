// RelayFailure.swift -- how a relay failed on its connection, and what of stdin never left.

/// A relay that did not finish: the connection failed, or nothing moved for the idle timeout.
/// (A failure of stdin or stdout is a `LocalIOError` instead: not the peer's doing.)
public struct RelayFailure: Error, CustomStringConvertible, Sendable, Equatable {
    /// What went wrong.
    public enum Cause: Sendable, Equatable {
        /// A send, receive or shutdown on the connection failed: EPIPE or ECONNRESET when the peer closed
        /// fully (not half) or reset.
        case connection(SystemError)
        /// No byte moved either way for this many seconds; `sending` when stdin bytes were waiting for
        /// room the peer never made.
        case idle(seconds: Double, sending: Bool)
    }

    public let cause: Cause
    /// The other end, `host:port`.
    public let peer: String
    /// Bytes read from stdin that never reached the connection; nil when stdin was not being relayed or
    /// had all been sent.
    public let unsentBytes: Int?
    /// Bytes of stdin never read: known for a regular file, nil when stdin is a pipe or terminal (and
    /// 0 when stdin had ended).
    public let unreadBytes: Int?
    /// Bytes the relay wrote to a TCP connection that the peer never acknowledged (TCP_INFO's bytes_acked
    /// at the failure): written is not delivered, and a reset throws the kernel's send queue away. Nil
    /// when all were acknowledged or it is not known (a Unix socket, UDP).
    public let unacknowledgedBytes: Int?

    public init(
        _ cause: Cause,
        peer: String,
        unsentBytes: Int? = nil,
        unreadBytes: Int? = nil,
        unacknowledgedBytes: Int? = nil
    ) {
        self.cause = cause
        self.peer = peer
        self.unsentBytes = unsentBytes
        self.unreadBytes = unreadBytes
        self.unacknowledgedBytes = unacknowledgedBytes
    }

    /// The failure in the clients' one vocabulary.
    public var kind: FailureKind {
        switch cause {
        case .connection(let error): FailureKind(error)
        case .idle: .timedOut
        }
    }

    public var description: String {
        var text: String
        switch cause {
        case .connection(let error): text = error.description
        case .idle(let seconds, let sending):
            let what = sending ? "room to send (the server is not reading)" : "data or end of stream"
            text =
                "\(what) from \(peer) timed out after \(NumberFormat.fixed(seconds, decimals: seconds < 1 ? 3 : 1)) s"
        }
        if let unacknowledgedBytes {
            text +=
                "; \(NumberFormat.grouped(unacknowledgedBytes)) byte\(unacknowledgedBytes == 1 ? "" : "s") "
                + "written were never acknowledged by the peer (lost with the connection)"
        }
        if let unsentBytes {
            text += "; \(NumberFormat.grouped(unsentBytes)) byte\(unsentBytes == 1 ? "" : "s") of stdin not sent"
            switch unreadBytes {
            case .some(0): break
            case .some(let unread): text += ", \(NumberFormat.grouped(unread)) more not read"
            case .none: text += ", and the rest of stdin not read"
            }
        }
        return text
    }
}
