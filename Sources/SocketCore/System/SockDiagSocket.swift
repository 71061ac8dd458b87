// SockDiagSocket.swift -- the netlink socket through which `sockets` asks the kernel for its socket
// tables (sock_diag, the interface `ss` uses): one request, a dump of datagrams back.
import CSocketShim

extension Socket {
    /// A non-blocking netlink socket speaking NETLINK_SOCK_DIAG. Reads and writes go through `read` and
    /// `write`; each read returns one datagram of netlink messages.
    /// The corresponding C call is `socket(AF_NETLINK, SOCK_DGRAM, NETLINK_SOCK_DIAG)`.
    ///
    /// - Throws: `SystemError`; EPROTONOSUPPORT where the kernel has no sock_diag.
    public static func sockDiag() throws(SystemError) -> Socket {
        let descriptor = try retryingInterrupts("socket(AF_NETLINK)") { st_sock_diag_open() }
        return Socket(adopting: descriptor, family: netlinkFamily)
    }

    /// AF_NETLINK.
    public static let netlinkFamily: CInt = 16
}
