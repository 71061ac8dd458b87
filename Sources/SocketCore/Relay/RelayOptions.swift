// RelayOptions.swift -- what a relay copies, when it half-closes, and how long it may sit idle.

/// Settings of one relay (`connect -m -`, `listen`).
public struct RelayOptions: Sendable {
    /// Which ways bytes go.
    public enum Direction: Sendable, Equatable {
        /// stdin to the peer and the peer to stdout.
        case both
        /// stdin to the peer only; what the peer sends is read and dropped (so it never stalls, and closing
        /// never meets unread bytes, which would turn the FIN into a reset).
        case sendOnly
        /// The peer to stdout only; stdin is not read, and the peer's end of stream ends the session.
        case receiveOnly
    }

    public var direction: Direction
    /// At stdin's end, send FIN (shutdown(SHUT_WR)); false keeps the write side open (`--no-shutdown`).
    public var shutdownWhenInputEnds: Bool
    /// No byte moved either way for this long ends the relay as timed out; nil never (the default: a
    /// relay may wait for a person or a slow peer as long as they like).
    public var idleTimeout: Duration?
    /// Bytes per read and write, one buffer per direction: the relay's memory, whatever the transfer's size.
    public var bufferSize: Int

    /// 128 KiB: big enough that syscalls cost little next to the copy, small enough to stay in L2.
    public static let defaultBufferSize = 128 * 1024

    public init(
        direction: Direction = .both,
        shutdownWhenInputEnds: Bool = true,
        idleTimeout: Duration? = nil,
        bufferSize: Int = defaultBufferSize
    ) {
        self.direction = direction
        self.shutdownWhenInputEnds = shutdownWhenInputEnds
        self.idleTimeout = idleTimeout
        self.bufferSize = bufferSize
    }
}
