#!/usr/bin/env python3
"""hold.py HOST PORT N -- BIN multi|app: open N idle connections to a sockettool server, time how long
establishing them took, record the server's RSS while they are held, then time one fresh request with
sockettool itself (search for app, connect for multi). Prints two lines of figures."""
import os, socket, subprocess, sys, time

host, port, count = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
binary, kind = sys.argv[5], sys.argv[6]
socks = []
start = time.perf_counter()
for _ in range(count):
    s = socket.socket()
    s.setblocking(False)
    s.connect_ex((host, port))
    socks.append(s)
# A connection counts as established once the server accepted it: poll for writability with a deadline.
import select
poller = select.poll()
for s in socks:
    poller.register(s, select.POLLOUT)
pending, deadline = count, time.time() + 30
while pending and time.time() < deadline:
    for _ in poller.poll(100):
        pending -= 1
elapsed = time.perf_counter() - start
# The server's pid: the process listening on the port.
out = subprocess.run(["ss", "-Hltnp", f"sport = :{port}"], capture_output=True, text=True).stdout
pid = out.split("pid=")[1].split(",")[0] if "pid=" in out else None
time.sleep(0.5)  # let the server accept the backlog before reading its memory
if pid:
    rss = [l.split()[1] for l in open(f"/proc/{pid}/status") if l.startswith("VmRSS")][0]
    open(f"/tmp/sockettool-bench-rss.{pid}", "w").write(rss)
print(f"{count} idle connections established in {elapsed * 1000:.0f} ms ({count - pending} ok)")
args = [binary, "search", host, str(port), "morpheus", "-q"] if kind == "app" else [binary, "connect", host, str(port), "-q"]
best = None
for _ in range(5):
    t0 = time.perf_counter()
    ok = subprocess.run(args, capture_output=True).returncode == 0
    t = time.perf_counter() - t0
    best = t if best is None else min(best, t)
print(f"fresh request beside them: {'ok' if ok else 'FAILED'}, {best * 1000:.2f} ms (best of 5, including process start)")
for s in socks:
    s.close()
