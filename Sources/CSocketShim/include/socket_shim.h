// socket_shim.h -- the few Linux socket calls Swift cannot make directly.
//
// Variadic ioctl(), accept4() (hidden from Swift's Glibc module), epoll (its event struct is packed on
// x86_64), TCP_INFO fields newer than glibc's copy of the struct, and an async-signal-safe signal handler.
#ifndef SOCKET_SHIM_H
#define SOCKET_SHIM_H

#include <stdint.h>
#include <sys/socket.h>

/// accept4(fd, addr, len, SOCK_NONBLOCK | SOCK_CLOEXEC). Returns the new fd or -1 with errno set.
int st_accept_nonblocking(int fd, struct sockaddr *addr, socklen_t *len);

/// Bytes in the socket's receive queue (SIOCINQ). Returns 0 or -1 with errno set.
int st_input_queue_bytes(int fd, int *bytes);
/// Bytes in the socket's send queue, sent or not yet acknowledged (SIOCOUTQ). Returns 0 or -1.
int st_output_queue_bytes(int fd, int *bytes);
/// Bytes in the send queue not yet sent (SIOCOUTQNSD). Returns 0 or -1.
int st_unsent_queue_bytes(int fd, int *bytes);
/// pipe2(fds, O_NONBLOCK | O_CLOEXEC). Returns 0 or -1 with errno set.
int st_pipe_nonblocking(int fds[2]);
/// Sets or clears O_NONBLOCK. Returns 0 or -1 with errno set.
int st_set_nonblocking(int fd, int on);

/// The TCP_INFO fields sockettool shows, copied out of the kernel's struct tcp_info.
struct st_tcp_info {
    uint8_t state;            // TCP_ESTABLISHED = 1, ... (include/net/tcp_states.h)
    uint32_t rtt_us;          // smoothed round-trip time
    uint32_t snd_cwnd;        // congestion window, in segments
    uint32_t snd_mss;         // sender's maximum segment size
    uint32_t unacked;         // segments sent and not yet acknowledged
    uint32_t notsent_bytes;   // bytes queued and not yet sent
    uint32_t snd_wnd;         // the peer's advertised receive window (kernel >= 5.4; 0 if older)
    uint32_t rcv_space;       // receiver's space estimate (window advertised)
    uint64_t bytes_acked;     // bytes the peer acknowledged
    uint64_t bytes_received;  // bytes received from the peer
};
/// getsockopt(TCP_INFO). Returns 0 or -1 with errno set.
int st_tcp_info(int fd, struct st_tcp_info *out);

/// One readiness event from epoll, unpacked.
struct st_epoll_event {
    int fd;
    uint32_t events;
};
enum {
    ST_EPOLLIN = 0x001,
    ST_EPOLLOUT = 0x004,
    ST_EPOLLERR = 0x008,
    ST_EPOLLHUP = 0x010,
    /// EPOLLEXCLUSIVE (Linux 4.5): of the epoll instances waiting on one descriptor, wake one, not all.
    ST_EPOLLEXCLUSIVE = 0x10000000,
    ST_EPOLLRDHUP = 0x2000,
};
int st_epoll_create(void);
/// op: 1 add, 2 delete, 3 modify (EPOLL_CTL_*). Level-triggered, data = fd.
int st_epoll_ctl(int epfd, int op, int fd, uint32_t events);
/// epoll_wait into an unpacked array. Returns the count, or -1 with errno set.
int st_epoll_wait(int epfd, struct st_epoll_event *events, int max, int timeout_ms);

/// Installs a handler for signo that writes the signal number as one byte to write_fd (a non-blocking
/// pipe). Everything else happens on the event loop that reads the pipe. A request (is_request != 0, e.g.
/// SIGUSR1 for the stats) never counts toward "a second signal exits at once". Returns 0 or -1.
int st_install_signal_pipe(int signo, int write_fd, int is_request);
/// True when signo was installed as a request.
int st_signal_is_request(int signo);
/// Restores the default disposition of signo.
int st_reset_signal(int signo);

/// Tells the signal handler that `count` signals (requests not included) were read from the pipe. While
/// one is unread, another signal ends the process at once with 128 + its number (the loop that would read
/// it is stuck).
void st_signals_consumed(unsigned count);
/// Counts `count` consumed signals as unread again, so the next ending signal exits in the handler.
void st_signals_unconsume(unsigned count);
/// Ignores SIGPIPE for the whole process, so a write to a reset peer fails with EPIPE instead.
void st_ignore_sigpipe(void);

/// malloc_trim(0): glibc's <malloc.h>, which Swift's Glibc module does not export.
int st_malloc_trim(void);
/// mallopt(M_TRIM_THRESHOLD, bytes), from the same header: 1 on success.
int st_malloc_set_trim_threshold(int bytes);

#endif
