#!/usr/bin/env python3
"""hold-clients.py HOST PORT COUNT SOURCE: open COUNT idle TCP connections to HOST:PORT from the loopback
address SOURCE (127.0.0.2, ...), print one line once all are established, then hold them until SIGTERM.

Each holder uses its own source address, and lets connect() pick the port (IP_BIND_ADDRESS_NO_PORT): the
kernel then searches a port range of its own per source address. With every connection from 127.0.0.1, the
ports a fresh client needs would be 70 % taken at 19,900 connections, and its connect() alone would scan
thousands of ports (about a millisecond) before the server saw anything."""
import select, signal, socket, sys, time

host, port, count, source = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4]
IP_BIND_ADDRESS_NO_PORT = getattr(socket, "IP_BIND_ADDRESS_NO_PORT", 24)
signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))

socks, poller = [], select.poll()
start = time.perf_counter()
pending = 0
for _ in range(count):
    s = socket.socket()
    s.setsockopt(socket.IPPROTO_IP, IP_BIND_ADDRESS_NO_PORT, 1)
    s.bind((source, 0))
    s.setblocking(False)
    s.connect_ex((host, port))
    socks.append(s)
    poller.register(s, select.POLLOUT)
    pending += 1
    # Keep the handshakes in flight bounded, as loadgen's --ramp does, so the listen queue never overflows.
    while pending >= 256:
        for fd, _ in poller.poll(1000):
            poller.unregister(fd)
            pending -= 1
deadline = time.time() + 120
while pending and time.time() < deadline:
    for fd, _ in poller.poll(100):
        poller.unregister(fd)
        pending -= 1
failed = sum(1 for s in socks if s.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR) != 0)
print(f"held {count - failed - pending} of {count} from {source} in {time.perf_counter() - start:.2f} s", flush=True)
# Hold until the bench is done with them and sends SIGTERM.
while True:
    signal.pause()
