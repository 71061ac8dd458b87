// Socket+TCPInfoBytes.swift -- the kernel's struct tcp_info for a socket of this process, as raw bytes, so
// the one parser that reads it out of sock_diag (`KernelTCPInfo`) reads it here too.
import CSocketShim

extension Socket {
    /// The bytes of TCP_INFO, as long as the running kernel's struct (newer fields absent on older kernels).
    /// The corresponding C call is `getsockopt(IPPROTO_TCP, TCP_INFO)`.
    public func tcpInfoBytes() throws(SystemError) -> [UInt8] {
        var bytes = [UInt8](repeating: 0, count: 512)
        let fd = descriptor
        let count = bytes.withUnsafeMutableBytes { raw in
            Result { () throws(SystemError) in
                try retryingInterrupts("getsockopt(TCP_INFO)") {
                    st_tcp_info_bytes(fd, raw.baseAddress, UInt32(raw.count))
                }
            }
        }
        return Array(bytes[0..<Int(try count.get())])
    }
}
