// inspect_shim.c -- netlink, AF_PACKET and TCP_INFO calls for `sockets` and `trace`. See inspect_shim.h.
#define _GNU_SOURCE
#include "inspect_shim.h"

#include <arpa/inet.h>
#include <errno.h>
#include <linux/filter.h>
#include <linux/if_packet.h>
#include <linux/netlink.h>
#include <linux/tcp.h>
#include <net/ethernet.h>
#include <net/if.h>
#include <netinet/in.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

int st_sock_diag_open(void) {
    return socket(AF_NETLINK, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, NETLINK_SOCK_DIAG);
}

int st_packet_open(int ifindex, const struct st_bpf_instruction *program, unsigned short count) {
    // Protocol 0: the socket receives nothing until bind() names a protocol, so no packet can queue
    // before the filter is attached (the classic race of socket(ETH_P_ALL) then SO_ATTACH_FILTER).
    int fd = socket(AF_PACKET, SOCK_RAW | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0) return -1;
    struct sock_fprog filter = {.len = count, .filter = (struct sock_filter *)program};
    int on = 1;
    // Room for a burst while the capture prints: 4 MiB, past net.core.rmem_max when privileged.
    int room = 4 << 20;
    if (setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &room, sizeof room) < 0) {
        setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &room, sizeof room);
    }
    struct sockaddr_ll address;
    memset(&address, 0, sizeof address);
    address.sll_family = AF_PACKET;
    address.sll_protocol = htons(ETH_P_ALL);
    address.sll_ifindex = ifindex;
    if (setsockopt(fd, SOL_SOCKET, SO_ATTACH_FILTER, &filter, sizeof filter) < 0
        || setsockopt(fd, SOL_SOCKET, SO_TIMESTAMPNS, &on, sizeof on) < 0
        || bind(fd, (struct sockaddr *)&address, sizeof address) < 0) {
        int saved = errno;
        close(fd);
        errno = saved;
        return -1;
    }
    return fd;
}

ssize_t st_packet_receive(int fd, void *buffer, size_t capacity, struct st_packet_info *info) {
    struct sockaddr_ll from;
    struct iovec vector = {.iov_base = buffer, .iov_len = capacity};
    union {
        char bytes[CMSG_SPACE(sizeof(struct timespec))];
        struct cmsghdr align;
    } control;
    struct msghdr message;
    memset(&message, 0, sizeof message);
    memset(&from, 0, sizeof from);
    message.msg_name = &from;
    message.msg_namelen = sizeof from;
    message.msg_iov = &vector;
    message.msg_iovlen = 1;
    message.msg_control = control.bytes;
    message.msg_controllen = sizeof control.bytes;
    // MSG_TRUNC: the return value is the packet's real length even when the buffer is smaller.
    ssize_t length = recvmsg(fd, &message, MSG_DONTWAIT | MSG_TRUNC);
    if (length < 0) return -1;
    memset(info, 0, sizeof *info);
    info->packet_type = from.sll_pkttype;
    info->length = (uint32_t)length;
    for (struct cmsghdr *c = CMSG_FIRSTHDR(&message); c != NULL; c = CMSG_NXTHDR(&message, c)) {
        if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_TIMESTAMPNS) {
            struct timespec stamp;
            memcpy(&stamp, CMSG_DATA(c), sizeof stamp);
            info->seconds = stamp.tv_sec;
            info->nanoseconds = (uint32_t)stamp.tv_nsec;
        }
    }
    if (info->seconds == 0) {
        struct timespec now;
        clock_gettime(CLOCK_REALTIME, &now);
        info->seconds = now.tv_sec;
        info->nanoseconds = (uint32_t)now.tv_nsec;
    }
    return length < (ssize_t)capacity ? length : (ssize_t)capacity;
}

int st_packet_statistics(int fd, uint32_t *packets, uint32_t *drops) {
    struct tpacket_stats stats;
    socklen_t length = sizeof stats;
    if (getsockopt(fd, SOL_PACKET, PACKET_STATISTICS, &stats, &length) < 0) return -1;
    *packets = stats.tp_packets;
    *drops = stats.tp_drops;
    return 0;
}

unsigned st_interface_index(const char *name) { return if_nametoindex(name); }

int st_tcp_info_bytes(int fd, void *buffer, unsigned capacity) {
    socklen_t length = capacity;
    memset(buffer, 0, capacity);
    if (getsockopt(fd, IPPROTO_TCP, TCP_INFO, buffer, &length) < 0) return -1;
    return (int)length;
}
