// socket_shim.c -- the few Linux socket calls Swift cannot make directly. See socket_shim.h.
#define _GNU_SOURCE
#include "socket_shim.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/sockios.h>
#include <linux/tcp.h>
#include <malloc.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdatomic.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/ioctl.h>
#include <unistd.h>

int st_accept_nonblocking(int fd, struct sockaddr *addr, socklen_t *len) {
    return accept4(fd, addr, len, SOCK_NONBLOCK | SOCK_CLOEXEC);
}

int st_input_queue_bytes(int fd, int *bytes) { return ioctl(fd, SIOCINQ, bytes); }
int st_output_queue_bytes(int fd, int *bytes) { return ioctl(fd, SIOCOUTQ, bytes); }
int st_unsent_queue_bytes(int fd, int *bytes) { return ioctl(fd, SIOCOUTQNSD, bytes); }

int st_pipe_nonblocking(int fds[2]) { return pipe2(fds, O_NONBLOCK | O_CLOEXEC); }

int st_set_nonblocking(int fd, int on) {
    int flags = fcntl(fd, F_GETFL);
    if (flags < 0) return -1;
    flags = on ? (flags | O_NONBLOCK) : (flags & ~O_NONBLOCK);
    return fcntl(fd, F_SETFL, flags);
}

int st_tcp_info(int fd, struct st_tcp_info *out) {
    struct tcp_info info;
    socklen_t len = sizeof info;
    memset(&info, 0, sizeof info);  // fields the running kernel does not know stay 0
    if (getsockopt(fd, IPPROTO_TCP, TCP_INFO, &info, &len) < 0) return -1;
    out->state = info.tcpi_state;
    out->rtt_us = info.tcpi_rtt;
    out->snd_cwnd = info.tcpi_snd_cwnd;
    out->snd_mss = info.tcpi_snd_mss;
    out->unacked = info.tcpi_unacked;
    out->notsent_bytes = info.tcpi_notsent_bytes;
    out->snd_wnd = info.tcpi_snd_wnd;
    out->rcv_space = info.tcpi_rcv_space;
    out->bytes_acked = info.tcpi_bytes_acked;
    out->bytes_received = info.tcpi_bytes_received;
    return 0;
}

int st_epoll_create(void) { return epoll_create1(EPOLL_CLOEXEC); }

int st_epoll_ctl(int epfd, int op, int fd, uint32_t events) {
    struct epoll_event ev;
    memset(&ev, 0, sizeof ev);
    ev.events = events;
    ev.data.fd = fd;
    return epoll_ctl(epfd, op, fd, &ev);
}

int st_epoll_wait(int epfd, struct st_epoll_event *events, int max, int timeout_ms) {
    // The kernel's struct is packed; read it here and hand Swift a plain array.
    struct epoll_event raw[256];
    if (max > 256) max = 256;
    int n = epoll_wait(epfd, raw, max, timeout_ms);
    for (int i = 0; i < n; i++) {
        events[i].fd = raw[i].data.fd;
        events[i].events = raw[i].events;
    }
    return n;
}

static volatile sig_atomic_t signal_pipe_fd[65];
// Signals that ask for something (SIGUSR1: print the stats) rather than an end: never counted as unread.
static volatile sig_atomic_t signal_is_request[65];
// Signals written to the pipe, and signals the program has read back from it (lock-free atomics are
// async-signal-safe).
static _Atomic unsigned signals_delivered;
static _Atomic unsigned signals_consumed;

static void st_signal_handler(int signo) {
    // Only async-signal-safe calls here: write(2) one byte, keep errno for the interrupted code.
    int saved = errno;
    unsigned char byte = (unsigned char)signo;
    if (signo > 0 && signo < 65 && signal_is_request[signo]) {
        // A request the loop answers when it gets to it; a second one while the first is unread is not a
        // sign of a stuck loop, and is dropped by a full pipe at worst.
        if (signal_pipe_fd[signo] > 0) {
            ssize_t ignored = write(signal_pipe_fd[signo], &byte, 1);
            (void)ignored;
        }
        errno = saved;
        return;
    }
    unsigned delivered = atomic_fetch_add(&signals_delivered, 1) + 1;
    if (delivered - atomic_load(&signals_consumed) >= 2) {
        // The previous signal is still unread: the program is stuck (say, in a write to a stdout nobody
        // reads), so its loop will never act on this one either. "A second signal exits at once."
        _exit(128 + signo);
    }
    if (signo > 0 && signo < 65 && signal_pipe_fd[signo] > 0) {
        ssize_t ignored = write(signal_pipe_fd[signo], &byte, 1);
        (void)ignored;
    }
    errno = saved;
}

void st_signals_consumed(unsigned count) { atomic_fetch_add(&signals_consumed, count); }

void st_signals_unconsume(unsigned count) { atomic_fetch_sub(&signals_consumed, count); }

int st_signal_is_request(int signo) { return signo > 0 && signo < 65 && signal_is_request[signo]; }

int st_install_signal_pipe(int signo, int write_fd, int is_request) {
    if (signo <= 0 || signo >= 65) {
        errno = EINVAL;
        return -1;
    }
    signal_is_request[signo] = is_request != 0;
    signal_pipe_fd[signo] = write_fd;
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = st_signal_handler;
    sigemptyset(&sa.sa_mask);
    // No SA_RESTART: a blocking call wakes with EINTR, and the loop then reads the pipe.
    sa.sa_flags = 0;
    return sigaction(signo, &sa, NULL);
}

int st_reset_signal(int signo) {
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = SIG_DFL;
    sigemptyset(&sa.sa_mask);
    return sigaction(signo, &sa, NULL);
}

void st_ignore_sigpipe(void) { signal(SIGPIPE, SIG_IGN); }

int st_malloc_trim(void) { return malloc_trim(0); }

int st_malloc_set_trim_threshold(int bytes) { return mallopt(M_TRIM_THRESHOLD, bytes); }
