// inspect_shim.h -- the Linux calls `sockettool sockets` and `sockettool trace` need whose types live in
// <linux/...> headers Swift's Glibc module does not export: netlink sock_diag, AF_PACKET with a classic BPF
// filter, kernel receive timestamps, and the raw bytes of TCP_INFO.
#ifndef INSPECT_SHIM_H
#define INSPECT_SHIM_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/// socket(AF_NETLINK, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, NETLINK_SOCK_DIAG). Returns the fd or -1.
int st_sock_diag_open(void);

/// One classic BPF instruction, laid out as the kernel's struct sock_filter.
struct st_bpf_instruction {
    uint16_t code;
    uint8_t jt;
    uint8_t jf;
    uint32_t k;
};

/// An AF_PACKET socket on one interface with `program` attached, non-blocking and close-on-exec, with
/// kernel receive timestamps (SO_TIMESTAMPNS). Returns the fd, or -1 with errno set (EPERM without
/// CAP_NET_RAW).
int st_packet_open(int ifindex, const struct st_bpf_instruction *program, unsigned short count);

/// What the kernel says about one captured packet besides its bytes.
struct st_packet_info {
    int64_t seconds;          // receive time (CLOCK_REALTIME), from SCM_TIMESTAMPNS
    uint32_t nanoseconds;
    uint8_t packet_type;      // sll_pkttype: 0 PACKET_HOST ... 4 PACKET_OUTGOING
    uint32_t length;          // the packet's length on the wire, even when the buffer was smaller
};

/// Receives one packet without blocking (MSG_DONTWAIT | MSG_TRUNC). Returns the bytes copied into buffer
/// (at most capacity), or -1 with errno set (EAGAIN when none is waiting).
ssize_t st_packet_receive(int fd, void *buffer, size_t capacity, struct st_packet_info *info);

/// PACKET_STATISTICS: packets the filter passed and packets dropped for lack of buffer space since the
/// last call. Returns 0 or -1 with errno set.
int st_packet_statistics(int fd, uint32_t *packets, uint32_t *drops);

/// if_nametoindex(3): 0 when there is no such interface.
unsigned st_interface_index(const char *name);

/// getsockopt(IPPROTO_TCP, TCP_INFO) into `buffer`: the kernel's struct tcp_info as it is, for the same
/// parser that reads it out of sock_diag. Returns the bytes written, or -1 with errno set.
int st_tcp_info_bytes(int fd, void *buffer, unsigned capacity);

#endif
