// Socket+PeerCredentials.swift -- who is at the other end of a Unix domain socket (SO_PEERCRED), and the
// name a server shows for such a peer: a Unix client is unnamed (it did not bind), so the peer is shown as
// `unix:` and the process the kernel recorded at connect, never as the path it connected to (that is the
// server's own).
import Glibc

/// The process at the other end of a Unix socket, as the kernel recorded it when it connected.
public struct PeerCredentials: Sendable, Equatable {
    public let processID: Int32
    public let userID: UInt32
    public let groupID: UInt32
}

extension Socket {
    /// SO_PEERCRED: the peer's pid, uid and gid; nil for a socket that is not AF_UNIX. The corresponding C
    /// function is `getsockopt(2)` (unix(7)).
    public func peerCredentials() -> PeerCredentials? {
        guard family == AF_UNIX else { return nil }
        // struct ucred is { pid_t pid; uid_t uid; gid_t gid; }: three 32-bit fields (behind _GNU_SOURCE, so
        // read as such here).
        var raw: (Int32, UInt32, UInt32) = (0, 0, 0)
        var length = socklen_t(MemoryLayout.size(ofValue: raw))
        let fd = descriptor
        guard
            (try? retryingInterrupts("getsockopt(SO_PEERCRED)") {
                getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &raw, &length)
            })
                != nil
        else { return nil }
        return PeerCredentials(processID: raw.0, userID: raw.1, groupID: raw.2)
    }
}

extension SocketAddress {
    /// What a server shows for a peer it accepted on `local`: an IP peer's own address, a bound Unix peer's
    /// path; for an unnamed one `unix:pid=4242,uid=1000` from `credentials`, or when SO_PEERCRED gave none
    /// the listening path.
    public func shownPeer(listeningOn local: SocketAddress, credentials: PeerCredentials? = nil) -> SocketAddress {
        guard isUnix, unixPath?.isEmpty ?? true else { return self }
        guard let credentials,
            let labelled = SocketAddress(unixPath: "unix:pid=\(credentials.processID),uid=\(credentials.userID)")
        else { return local }
        // An address only in name: it labels the peer in every log line (they print `description`) and is
        // never bound or connected to.
        return labelled
    }
}
