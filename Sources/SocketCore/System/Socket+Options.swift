// Socket+Options.swift -- the socket options sockettool sets and shows.
import CSocketShim
import Glibc

extension Socket {
    /// SO_REUSEADDR: lets a restarted server bind while old connections sit in TIME_WAIT.
    public func setReuseAddress(_ on: Bool) throws(SystemError) {
        try setIntOption(level: SOL_SOCKET, name: SO_REUSEADDR, value: on ? 1 : 0, call: "setsockopt(SO_REUSEADDR)")
    }

    /// TCP_NODELAY: send small writes at once instead of waiting for an ACK (Nagle). The guide's programs
    /// stall 40 ms per window on loopback without it, when Nagle meets delayed ACK.
    public func setNoDelay(_ on: Bool) throws(SystemError) {
        try setIntOption(
            level: CInt(IPPROTO_TCP),
            name: TCP_NODELAY,
            value: on ? 1 : 0,
            call: "setsockopt(TCP_NODELAY)"
        )
    }

    /// SO_SNDBUF. The kernel doubles the value (for its own bookkeeping) and applies a minimum; read it back.
    public func setSendBufferSize(_ bytes: Int) throws(SystemError) {
        try setIntOption(
            level: SOL_SOCKET,
            name: SO_SNDBUF,
            value: CInt(clamping: bytes),
            call: "setsockopt(SO_SNDBUF)"
        )
    }

    /// SO_RCVBUF. The kernel doubles the value and applies a minimum; read it back.
    public func setReceiveBufferSize(_ bytes: Int) throws(SystemError) {
        try setIntOption(
            level: SOL_SOCKET,
            name: SO_RCVBUF,
            value: CInt(clamping: bytes),
            call: "setsockopt(SO_RCVBUF)"
        )
    }

    /// SO_SNDBUF in effect.
    public func sendBufferSize() throws(SystemError) -> Int {
        Int(try intOption(level: SOL_SOCKET, name: SO_SNDBUF, call: "getsockopt(SO_SNDBUF)"))
    }

    /// SO_RCVBUF in effect.
    public func receiveBufferSize() throws(SystemError) -> Int {
        Int(try intOption(level: SOL_SOCKET, name: SO_RCVBUF, call: "getsockopt(SO_RCVBUF)"))
    }

    /// IPV6_V6ONLY: false lets an IPv6 wildcard listener take IPv4 connections too.
    public func setIPv6Only(_ on: Bool) throws(SystemError) {
        try setIntOption(
            level: CInt(IPPROTO_IPV6),
            name: IPV6_V6ONLY,
            value: on ? 1 : 0,
            call: "setsockopt(IPV6_V6ONLY)"
        )
    }

    /// IP_BIND_ADDRESS_NO_PORT: a bind to port 0 picks the port at connect time, from the whole 4-tuple
    /// (Linux 4.2), instead of reserving one at bind.
    public func setBindAddressNoPort(_ on: Bool) throws(SystemError) {
        try setIntOption(
            level: CInt(IPPROTO_IP),
            name: IP_BIND_ADDRESS_NO_PORT,
            value: on ? 1 : 0,
            call: "setsockopt(IP_BIND_ADDRESS_NO_PORT)"
        )
    }

    /// SO_LINGER with a zero timeout: close() then sends RST at once (flood's sender, so
    /// the kernel does not keep probing a zero window for minutes; and tests).
    public func setLingerZero() throws(SystemError) {
        var value = linger(l_onoff: 1, l_linger: 0)
        let fd = descriptor
        _ = try retryingInterrupts("setsockopt(SO_LINGER)") {
            setsockopt(fd, SOL_SOCKET, SO_LINGER, &value, socklen_t(MemoryLayout<linger>.size))
        }
    }
}
